//! Where the demo city's towns are: an approximate centre for each town and street of the bundled
//! organisation (a Zhongshan-like city, WGS-84, to about a kilometre), so generated points (the outlets
//! into rivers) fall in their own town and a map of them looks like the city rather than a grid.

/// (town code, latitude, longitude).
const TOWN_CENTRES: &[(&str, f64, f64)] = &[
    ("banfu", 22.410, 113.330),
    ("dachong", 22.475, 113.300),
    ("dongfeng", 22.680, 113.270),
    ("dongqu", 22.515, 113.405),
    ("fusha", 22.665, 113.355),
    ("gangkou", 22.585, 113.380),
    ("guzhen", 22.610, 113.190),
    ("henglan", 22.530, 113.255),
    ("huangpu", 22.710, 113.335),
    ("minzhong", 22.620, 113.490),
    ("nanlang", 22.490, 113.540),
    ("nanqu", 22.475, 113.370),
    ("nantou", 22.715, 113.295),
    ("sanjiao", 22.680, 113.420),
    ("sanxiang", 22.360, 113.430),
    ("shaxi", 22.525, 113.320),
    ("shenwan", 22.310, 113.360),
    ("shiqi", 22.522, 113.383),
    ("tanzhou", 22.255, 113.470),
    ("wuguishan", 22.440, 113.440),
    ("xiaolan", 22.650, 113.245),
    ("xiqu", 22.520, 113.355),
    ("zhongshangang", 22.555, 113.475),
];

/// The town's centre as (latitude, longitude), or `None` for a town the table does not know (an
/// organisation other than the bundled one).
pub fn town_centre(town: &str) -> Option<(f64, f64)> {
    TOWN_CENTRES.iter().find(|(code, _, _)| *code == town).map(|&(_, lat, lon)| (lat, lon))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use mashangban_domain::org::UnitKind;

    use super::*;

    #[test]
    fn every_bundled_town_has_a_centre_inside_the_city() {
        let data = crate::DemoData::bundled().unwrap();
        let towns: Vec<&str> =
            data.units.iter().filter(|u| u.kind == UnitKind::Town).map(|u| u.code.as_str()).collect();
        assert_eq!(towns.len(), TOWN_CENTRES.len());
        for town in towns {
            let centre = town_centre(town);
            assert!(centre.is_some(), "no centre for {town}");
            let (lat, lon) = centre.unwrap();
            assert!((22.2..22.8).contains(&lat) && (113.1..113.6).contains(&lon), "{town}: {lat}, {lon}");
        }
        assert_eq!(town_centre("atlantis"), None);
    }
}
