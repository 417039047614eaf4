"""mappings.suggestions.suggest_channel_value: the catalog de-para's suggestion of a channel
value for an ERP value, by the same loose names as the order kinds."""

from mappings.suggestions import suggest_channel_value
from vendors.types import CatalogReference

CATEGORIES = [
    CatalogReference("category", "10", "Vestuário / Camisetas"),
    CatalogReference("category", "11", "Vestuário / Calçados"),
    CatalogReference("category", "20", "Casa / Cozinha"),
]


def test_a_path_s_last_part_matches_the_erp_name():
    assert suggest_channel_value(["CAMISETAS"], CATEGORIES).code == "10"


def test_a_close_name_matches_and_a_distant_one_does_not():
    assert suggest_channel_value(["Calcados"], CATEGORIES).code == "11"
    assert suggest_channel_value(["Eletrônicos"], CATEGORIES) is None
    assert suggest_channel_value(["Camisetas"], []) is None


def test_attribute_aliases_count_for_attributes_only():
    attributes = [CatalogReference("attribute", "COLOR", "Color principal")]
    assert suggest_channel_value(["Cor"], attributes) is None
    assert suggest_channel_value(["Cor"], attributes, attribute=True).code == "COLOR"
