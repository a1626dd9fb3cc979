//! The few `f64` operations the client needs that live in std, not core (`ceil`,
//! `round`, `powi`, `fract`, `abs`), written out so that the npm package's `no_std`
//! build and the host build compute exactly the same thing.

/// Values at least this large are whole numbers already (2^52).
const WHOLE: f64 = 4_503_599_627_370_496.0;

/// The whole part, toward zero.
pub fn trunc(x: f64) -> f64 {
    if x.is_nan() || abs(x) >= WHOLE {
        x
    } else {
        (x as i64) as f64
    }
}

/// The smallest whole number not below `x`.
pub fn ceil(x: f64) -> f64 {
    let t = trunc(x);
    if t < x {
        t + 1.0
    } else {
        t
    }
}

/// The nearest whole number, halves away from zero.
pub fn round(x: f64) -> f64 {
    if x < 0.0 {
        -round(-x)
    } else {
        trunc(x + 0.5)
    }
}

/// `x` minus its whole part.
pub fn fract(x: f64) -> f64 {
    x - trunc(x)
}

/// The absolute value.
pub fn abs(x: f64) -> f64 {
    if x < 0.0 {
        -x
    } else {
        x
    }
}

/// `base` to the power `exp`, by squaring.
pub fn powi(base: f64, exp: i32) -> f64 {
    let (mut b, mut e, mut r) = (base, exp.unsigned_abs(), 1.0);
    while e > 0 {
        if e & 1 == 1 {
            r *= b;
        }
        b *= b;
        e >>= 1;
    }
    if exp < 0 {
        1.0 / r
    } else {
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agree_with_std() {
        for x in [
            0.0,
            0.5,
            1.0,
            1.5,
            2.49,
            2.5,
            -0.5,
            -1.5,
            -2.7,
            1e15 + 0.5,
            1e300,
            -1e300,
            3599.999,
        ] {
            assert_eq!(ceil(x), x.ceil(), "ceil {x}");
            assert_eq!(trunc(x), x.trunc(), "trunc {x}");
            assert_eq!(round(x), x.round(), "round {x}");
            assert_eq!(fract(x), x.fract(), "fract {x}");
            assert_eq!(abs(x), x.abs(), "abs {x}");
        }
        assert!(ceil(f64::NAN).is_nan());
        assert_eq!(ceil(f64::INFINITY), f64::INFINITY);
        for e in [-320, -300, -5, 0, 1, 2, 10, 22, 30, 308, 309] {
            let (ours, std) = (powi(10.0, e), 10f64.powi(e));
            assert!(
                ours == std || abs(ours - std) <= abs(std) * 1e-15,
                "10^{e}: {ours} {std}"
            );
        }
        assert_eq!(powi(2.0, 30), 1_073_741_824.0);
    }
}
