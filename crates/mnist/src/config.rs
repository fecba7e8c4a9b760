//! The data section of a training configuration.

use burn::config::Config;

use lenet::InputConfig;

use crate::AugmentConfig;

/// Everything about the data a training run chooses: the split, the input form, augmentation.
#[derive(Config, Debug, PartialEq)]
pub struct DataConfig {
    /// Examples held out from the end of the training set for validation (0 to 60,000).
    #[config(default = 5000)]
    pub validation_size: usize,
    /// How images become model inputs; inference must use the same.
    #[config(default = "InputConfig::new()")]
    pub input: InputConfig,
    /// Random distortions of training images.
    #[config(default = "AugmentConfig::new()")]
    pub augmentation: AugmentConfig,
}

#[cfg(test)]
mod tests {
    use super::*;
    use lenet::Normalization;

    #[test]
    fn defaults_round_trip_through_toml() {
        let config = DataConfig::new();
        let text = toml::to_string(&config).unwrap();
        let back: DataConfig = toml::from_str(&text).unwrap();
        assert_eq!(back, config);
        for key in [
            "validation_size = 5000",
            "[input]",
            "normalization = \"standardize\"",
            "[augmentation]",
            "enabled = false",
        ] {
            assert!(text.contains(key), "{key:?} not in:\n{text}");
        }
    }

    #[test]
    fn every_field_round_trips_through_toml_and_json() {
        let config = DataConfig::new()
            .with_validation_size(0)
            .with_input(
                InputConfig::new()
                    .with_padding(0)
                    .with_normalization(Normalization::Paper),
            )
            .with_augmentation(
                AugmentConfig::new()
                    .with_enabled(true)
                    .with_max_translation(1.5)
                    .with_max_rotation(15.0)
                    .with_max_scale(0.15)
                    .with_max_shear(0.3),
            );
        let back: DataConfig = toml::from_str(&toml::to_string(&config).unwrap()).unwrap();
        assert_eq!(back, config);
        let json = config.to_string();
        let back: DataConfig = load_with_burn(&json);
        assert_eq!(back, config);
    }

    /// Burn's own JSON loader, as `Config::load` uses it.
    fn load_with_burn(json: &str) -> DataConfig {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.json");
        std::fs::write(&path, json).unwrap();
        DataConfig::load(&path).unwrap()
    }

    #[test]
    fn unknown_normalization_is_rejected() {
        let text = toml::to_string(&DataConfig::new())
            .unwrap()
            .replace("\"standardize\"", "\"minmax\"");
        assert!(toml::from_str::<DataConfig>(&text).is_err());
    }
}
