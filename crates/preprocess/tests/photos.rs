//! Photos whose light once hid the digit, read from fixtures (rendered by the clutter
//! generator of `crates/infer/tests/common/clutter/` from an MNIST test digit).

use std::path::Path;

/// A 1152x864 phone photo, most of it under a hard-edged shadow band on vignetted paper, a
/// small dark 8 (about 30 pixels tall) in the band: what a quadratic leaves of the band's edges
/// outweighs the digit's thin ink on the reduced copy and at every finer one, until only ink
/// clearly above that light is counted.
#[test]
fn a_small_digit_in_a_hard_edged_shadow_is_found() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/8-in-a-shadow.jpg");
    let image = preprocess::read_image(&path).expect("the fixture");
    let digit = preprocess::to_mnist(&image).expect("the 8 found");
    // Scaled to the 20-pixel box: its rows of ink span 20 rows.
    let rows = (0..28)
        .filter(|r| digit[r * 28..][..28].iter().any(|&p| p > 0))
        .count();
    assert_eq!(rows, 20);
    // The 8's lower loop: a background pixel with ink on all four sides of it.
    let ink = |r: usize, c: usize| digit[r * 28 + c] > 64;
    let hole = (1..27)
        .flat_map(|r| (1..27).map(move |c| (r, c)))
        .any(|(r, c)| {
            !ink(r, c)
                && (0..c).any(|x| ink(r, x))
                && (c + 1..28).any(|x| ink(r, x))
                && (0..r).any(|y| ink(y, c))
                && (r + 1..28).any(|y| ink(y, c))
        });
    assert!(hole, "no loop in {digit:?}");
}
