//! Each example's computation, checked against the numbers its seed prints.

#[path = "../examples/linear_net_2_3_1.rs"]
mod linear_net_2_3_1;

#[test]
fn linear_net_2_3_1_reproduces_seed_001() {
    let r = linear_net_2_3_1::run();
    // seeds/001 prints these exact values.
    assert_eq!(r.before, (180.0, 7200.0));
    assert_eq!(r.grad, [4800.0, 4800.0, 4800.0, 9600.0, 9600.0, 9600.0, 7200.0, 7200.0, 7200.0]);
    assert!((r.after.0 - 140.3136).abs() < 1e-10, "{:?}", r.after);
    assert!((r.after.1 - 3225.13717248).abs() < 1e-8, "{:?}", r.after);
    // w − lr·g by hand: 0.5 − 1e-5·4800 = 0.452, 0.5 − 0.096 = 0.404, 1 − 0.072 = 0.928
    let expected = [0.452, 0.452, 0.452, 0.404, 0.404, 0.404, 0.928, 0.928, 0.928];
    for (w, e) in r.weights.iter().zip(expected) {
        assert!((w - e).abs() < 1e-12);
    }
    assert!(r.text.contains("prediction 180.0, loss 7200.0"));
    assert!(r.text.contains("prediction 140.3136, loss 3225.13717248"));
}
