//! Every numeric scenario value is checked at parse time: NaN, infinite, negative, out-of-range
//! and fractional-where-whole values are each a located error naming the key (FILE:LINE).

use std::path::Path;

use lodestone_world::lower::lower_dataset;
use lodestone_world::sim_inputs::{parse_scenario, sim_network};

/// A valid scenario using every numeric key; `{KEY}` lines are replaced one at a time.
const BASE: &str = r#"name = "validation"
seed = 7
months = 24
year = 2024
demand_growth = 0.02
shortfall_level = 0.2

[[events]]
kind = "outage"
node = "lynas_lamp_kuantan"
start = 1
months = { triangular = [1, 3, 6] }

[[events]]
kind = "export_restriction"
issuer = "CHN"
start = 0
mode = "licensing"
approval_probability = 0.75
approval_final = 0.95
ramp_months = 4
delay_months = { triangular = [0.25, 1.0, 2.0] }

[[events]]
kind = "export_restriction"
issuer = "MYS"
start = 2
mode = "quota"
quota = 0.5

[[events]]
kind = "capacity_addition"
node = "lynas_lamp_kuantan"
extra_t_reo_per_year = 1200
ramp_months = 6

[[events]]
kind = "tariff"
importer = "USA"
origins = ["CHN"]
rate = 1.0

[[events]]
kind = "demand_shock"
country = "JPN"
factor = 1.2
months = 3

[[stockpiles]]
country = "JPN"
initial_t_reo = 3000
release_t_reo_per_month = 800
trigger_shortfall = 0.05
rebuild_t_reo_per_month = 10

[[inventories]]
country = "all"
days_of_cover = { triangular = [14, 28, 42] }
rebuild_months = 6

[[transit]]
from = "CHN"
to = "all"
months = { triangular = [0, 1, 1.5] }

[[end_uses]]
country = "JPN"
end_use = "ev"
share = 1.0
priority = 1
"#;

/// Keys and the bad values each must refuse.
const CASES: &[(&str, &[&str])] = &[
    ("seed", &["-1", "nan", "1.5", "\"x\""]),
    ("months", &["0", "601", "inf", "12.5", "-3"]),
    ("year", &["2024.5", "-inf", "99999"]),
    ("demand_growth", &["nan", "5", "-1"]),
    ("shortfall_level", &["1.5", "-0.1", "nan"]),
    ("approval_probability", &["1.1", "-0.2", "nan", "inf"]),
    ("quota", &["2", "-1", "nan"]),
    ("approval_final", &["1.5", "nan", "-1"]),
    (
        "delay_months",
        &[
            "-1",
            "{ triangular = [0, 1, nan] }",
            "{ uniform = [0, 1000] }",
            "{ lognormal = [10, 1] }",
        ],
    ),
    ("extra_t_reo_per_year", &["-5", "inf", "1e20"]),
    ("ramp_months", &["-1", "nan"]),
    ("rate", &["-0.1", "nan", "100"]),
    ("factor", &["-1", "inf"]),
    ("initial_t_reo", &["-1", "nan", "inf"]),
    ("release_t_reo_per_month", &["-1", "1e300"]),
    ("trigger_shortfall", &["2", "nan"]),
    ("rebuild_t_reo_per_month", &["-4"]),
    ("share", &["1.5", "-0.5", "nan"]),
    (
        "days_of_cover",
        &["-1", "nan", "{ triangular = [-5, 10, 20] }", "99999"],
    ),
    ("rebuild_months", &["-1", "inf"]),
    ("priority", &["0", "1.5", "-2"]),
];

#[test]
fn every_bad_number_is_a_located_error() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/world");
    let (world, _) = lodestone_world::load_dir(&dir).unwrap();
    let low = lower_dataset(&world, 2024).unwrap();
    let net = sim_network(&world, &low);
    parse_scenario("ok.toml", BASE, &world, &net).expect("the base scenario is valid");
    let mut checked = 0;
    for (key, bad) in CASES {
        // The first line that sets the key.
        let (index, line) = BASE
            .lines()
            .enumerate()
            .find(|(_, l)| l.starts_with(&format!("{key} =")))
            .unwrap_or_else(|| panic!("{key} is not in the base scenario"));
        for value in *bad {
            let text = BASE.replacen(line, &format!("{key} = {value}"), 1);
            let diags = match parse_scenario("s.toml", &text, &world, &net) {
                Ok(_) => panic!("{key} = {value} was accepted"),
                Err(d) => d,
            };
            let at = format!("s.toml:{}", index + 1);
            assert!(
                diags
                    .iter()
                    .any(|d| d.to_string().starts_with(&at) && d.to_string().contains(key)),
                "{key} = {value}: no error at {at} naming the key: {:?}",
                diags.iter().map(ToString::to_string).collect::<Vec<_>>()
            );
            checked += 1;
        }
    }
    assert!(checked >= 50, "{checked}");
}

#[test]
fn a_working_stock_names_a_material_stage() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/world");
    let (world, _) = lodestone_world::load_dir(&dir).unwrap();
    let low = lower_dataset(&world, 2024).unwrap();
    let net = sim_network(&world, &low);
    let text = BASE.replacen(
        "[[inventories]]\ncountry = \"all\"\n",
        "[[inventories]]\ncountry = \"all\"\nstage = \"magnt\"\n",
        1,
    );
    let diags = parse_scenario("s.toml", &text, &world, &net).unwrap_err();
    let all: Vec<String> = diags.iter().map(ToString::to_string).collect();
    assert!(
        all.iter()
            .any(|d| d.contains("stage 'magnt' is not a material stage")
                && d.contains("did you mean 'magnet'")),
        "{all:?}"
    );
}
