//! Checks on the bundled world dataset (data/world): it validates, the USGS table adds up, and
//! every facility of the reference list and every actor of the seed commentary is present.

use std::path::Path;

use lodestone_format::{Dataset, Report, Value};
use lodestone_world::{World, load_dir};

fn world() -> (World, Report) {
    load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/world")).unwrap()
}

fn ids(ds: &Dataset, table: &str) -> Vec<String> {
    let t = ds.table(table).unwrap();
    t.rows
        .iter()
        .filter_map(|r| t.text(r, "id").map(str::to_string))
        .collect()
}

#[test]
fn world_dataset_has_no_errors() {
    let (_, report) = world();
    assert!(
        !report.has_errors(),
        "{:?}",
        report.errors().collect::<Vec<_>>()
    );
}

/// USGS MCS 2025, 2024 mine production: country rows (incl. ROW, "Other") against the published
/// world total of 390,000 t. USGS rounds the world total and several country figures are
/// themselves estimates, so the sum (393,950 t) may miss the total by up to 1.5 %.
#[test]
fn usgs_2024_mine_production_adds_up_and_china_share_is_69_percent() {
    let (ds, _) = world();
    let t = ds.table("production").unwrap();
    let mut sum = 0.0;
    let mut world_total = None;
    let mut china = None;
    for row in &t.rows {
        if t.text(row, "source") != Some("usgs_mcs2025_ree")
            || t.text(row, "stage") != Some("mining")
            || t.get(row, "year") != &Value::Integer(2024)
        {
            continue;
        }
        let q = t.get(row, "quantity").as_f64().unwrap();
        match t.text(row, "country") {
            Some("WLD") => world_total = Some(q),
            Some(c) => {
                if c == "CHN" {
                    china = Some(q);
                }
                sum += q;
            }
            None => panic!("production row without country"),
        }
    }
    let world_total = world_total.expect("WLD 2024 row");
    assert_eq!(world_total, 390_000.0);
    let tolerance = 0.015;
    assert!(
        (sum - world_total).abs() <= world_total * tolerance,
        "country rows sum to {sum}, world total {world_total}"
    );
    let share = china.expect("CHN 2024 row") / world_total * 100.0;
    assert_eq!(share.round(), 69.0, "China share {share}");
}

#[test]
fn tables_have_the_required_sizes() {
    let (ds, _) = world();
    let countries = ids(&ds, "countries")
        .into_iter()
        .filter(|c| c != "WLD" && c != "ROW")
        .count();
    assert!(countries >= 40, "{countries} countries");
    for (table, min) in [
        ("facilities", 48),
        ("companies", 40),
        ("flows", 150),
        ("sources", 60),
    ] {
        let n = ds.table(table).unwrap().rows.len();
        assert!(n >= min, "{table}: {n} rows, want at least {min}");
    }
}

const REFERENCE_FACILITIES: &[&str] = &[
    "lynas_mt_weld",
    "lynas_kalgoorlie",
    "iluka_eneabba",
    "arafura_nolans",
    "lynas_lamp_kuantan",
    "lynas_malaysia_hre_circuit",
    "lynas_malaysia_hre_plant2",
    "jslink_lynas_magnet_kuantan",
    "lynas_seadrift_tx",
    "mcre_kenering_perak",
    "kedah_jangka_bakat",
    "kelantan_mbinc_lynas",
    "khazanah_china_refinery",
    "mp_mountain_pass",
    "mp_mountain_pass_hre",
    "mp_independence",
    "mp_10x",
    "ef_white_mesa",
    "evac_sumter",
    "usar_stillwater",
    "noveon_san_marcos",
    "realloys_euclid",
    "src_saskatoon",
    "lcm_ellesmere_port",
    "ksm_ochang",
    "neo_silmet",
    "neo_narva",
    "solvay_la_rochelle",
    "vac_hanau",
    "shinetsu_takefu",
    "shinetsu_smmv_haiphong",
    "proterial_china",
    "tdk_guangdong_rising",
    "vtre_dong_pao",
    "cnre_bayan_obo",
    "cnre_baotou_huamei",
    "cnre_magnetic_alloy",
    "northern_zhaobao",
    "creg_south_china",
    "jl_mag",
    "xiamen_tungsten_magnets",
    "zksh_sanhuan",
    "myanmar_kachin",
    "serra_verde_pela_ema",
    "irel_oscom_aluva",
    "india_repm_scheme",
    "sareco_stepnogorsk",
    "jogmec_stockpile",
];

#[test]
fn every_reference_facility_is_present() {
    let (ds, _) = world();
    assert_eq!(REFERENCE_FACILITIES.len(), 48);
    let facilities = ds.table("facilities").unwrap();
    for id in REFERENCE_FACILITIES {
        assert!(facilities.contains(id), "facility {id} missing");
    }
}

/// Actors and events of the seed commentary (shared/seed).
#[test]
fn every_actor_of_the_commentary_is_present() {
    let (ds, _) = world();
    let companies = ds.table("companies").unwrap();
    for id in [
        "lynas_rare_earths",
        "lynas_malaysia",
        "realloys",
        "jogmec",
        "js_link",
        "us_government",
        "us_dod",
        "us_exim",
        "mys_miti",
        "mys_government",
        "european_commission",
        "perak_state_government",
    ] {
        assert!(companies.contains(id), "company {id} missing");
    }
    let facilities = ds.table("facilities").unwrap();
    for id in [
        "lynas_lamp_kuantan",
        "lynas_seadrift_tx",
        "mcre_kenering_perak",
        "jslink_lynas_magnet_kuantan",
        "lynas_malaysia_hre_circuit",
    ] {
        assert!(facilities.contains(id), "facility {id} missing");
    }
    let countries = ds.table("countries").unwrap();
    for id in ["USA", "AUS", "JPN", "CHN", "MYS", "KOR"] {
        assert!(countries.contains(id), "country {id} missing");
    }
    let groups = ds.table("groups").unwrap();
    for id in ["asean", "eu"] {
        assert!(groups.contains(id), "group {id} missing");
    }
    let files: Vec<&str> = ds.toml_files.iter().map(|f| f.path.as_str()).collect();
    for path in [
        "agreements/us_australia_framework_2025.toml",
        "agreements/realloys_jogmec_mou_2025.toml",
        "agreements/lynas_jslink_mou_2025.toml",
        "agreements/perak_mcre_chinese_partner.toml",
        "policies/us_china_tariff_100pct_2025.toml",
        "policies/china_mofcom_61_2025.toml",
        "policies/china_mofcom_62_2025.toml",
        "policies/eu_crma_benchmarks.toml",
    ] {
        assert!(files.contains(&path), "{path} missing (have {files:?})");
    }
}
