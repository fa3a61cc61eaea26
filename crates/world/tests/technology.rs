//! The technology tag marks processing done abroad with a country's technology: a Vietnamese
//! plant running Japanese technology tags its output `tech:JPN`; a Chinese plant running Chinese
//! technology, or a Japanese plant running Japanese technology, tags nothing.

use std::path::Path;

#[test]
fn only_processing_abroad_carries_the_technology_tag() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/rules/world");
    let (world, report) = lodestone_world::load_dir(&dir).unwrap();
    assert!(
        !report.has_errors(),
        "{:?}",
        report.errors().collect::<Vec<_>>()
    );
    let low = lodestone_world::lower::lower_dataset(&world, 2024).unwrap();
    let tags = &low.network.tags;
    assert!(tags.iter().any(|t| t == "tech:JPN"), "{tags:?}");
    assert!(!tags.iter().any(|t| t == "tech:CHN"), "{tags:?}");
    // Where tech:JPN is added: only at the Vietnamese plant's products.
    let jpn = low.network.tag_index("tech:JPN").unwrap();
    for a in low
        .network
        .additions
        .iter()
        .filter(|a| a.tag as usize == jpn)
    {
        let node = &low.nodes[a.node as usize];
        assert_eq!(node.hub, "vn_magnet_plant", "{node:?}");
    }
}
