"""The bucket's lifecycle rules as the spec asks for them."""

from __future__ import annotations

from conftest import MakePs

from photostore.operator.bucket import lifecycle_rules


def test_only_originals_move_to_colder_classes(make_ps: MakePs) -> None:
    ps = make_ps(storage={"bucket": "photos", "secretName": "s3",
                          "lifecycle": {"daysToIA": 45, "daysToGlacier": 200}})  # fmt: skip
    (rule,) = lifecycle_rules(ps)
    assert rule["Filter"] == {"Prefix": "originals/"}
    assert rule["Status"] == "Enabled"
    assert rule["Transitions"] == [
        {"Days": 45, "StorageClass": "STANDARD_IA"},
        {"Days": 200, "StorageClass": "GLACIER"},
    ]
