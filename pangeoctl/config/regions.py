"""Regions each cloud offers, as read on 2026-12-03, and the shape of their names.

A name of the wrong shape for the cloud (``us-west-2`` on GCP, ``westeurope`` on AWS) is an error; a
well-shaped name missing from the list is only a warning, because clouds open regions after this list
was written. Read from: cloud.google.com/compute/docs/regions-zones, docs.aws.amazon.com/global-infrastructure
("Regions and Availability Zones"), learn.microsoft.com/azure/reliability/regions-list.
"""

from __future__ import annotations

import difflib
import re

AS_OF = "2026-12-03"
_NAME = {"gcp": "a GCP", "aws": "an AWS", "azure": "an Azure"}

SHAPE = {
    "gcp": (re.compile(r"[a-z]+-[a-z]+\d+"), "like us-central1"),
    "aws": (re.compile(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d+"), "like us-west-2"),
    "azure": (re.compile(r"[a-z]+\d?"), "like westeurope (lowercase, no spaces or dashes)"),
}

REGIONS: dict[str, frozenset[str]] = {
    "gcp": frozenset(
        [
            "africa-south1",
            "asia-east1",
            "asia-east2",
            "asia-northeast1",
            "asia-northeast2",
            "asia-northeast3",
            "asia-south1",
            "asia-south2",
            "asia-southeast1",
            "asia-southeast2",
            "australia-southeast1",
            "australia-southeast2",
            "europe-central2",
            "europe-north1",
            "europe-north2",
            "europe-southwest1",
            "europe-west1",
            "europe-west2",
            "europe-west3",
            "europe-west4",
            "europe-west6",
            "europe-west8",
            "europe-west9",
            "europe-west10",
            "europe-west12",
            "me-central1",
            "me-central2",
            "me-west1",
            "northamerica-northeast1",
            "northamerica-northeast2",
            "northamerica-south1",
            "southamerica-east1",
            "southamerica-west1",
            "us-central1",
            "us-east1",
            "us-east4",
            "us-east5",
            "us-south1",
            "us-west1",
            "us-west2",
            "us-west3",
            "us-west4",
        ]
    ),
    "aws": frozenset(
        [
            "us-east-1",
            "us-east-2",
            "us-west-1",
            "us-west-2",
            "af-south-1",
            "ap-east-1",
            "ap-east-2",
            "ap-south-1",
            "ap-south-2",
            "ap-southeast-1",
            "ap-southeast-2",
            "ap-southeast-3",
            "ap-southeast-4",
            "ap-southeast-5",
            "ap-southeast-6",
            "ap-southeast-7",
            "ap-northeast-1",
            "ap-northeast-2",
            "ap-northeast-3",
            "ca-central-1",
            "ca-west-1",
            "eu-central-1",
            "eu-central-2",
            "eu-west-1",
            "eu-west-2",
            "eu-west-3",
            "eu-south-1",
            "eu-south-2",
            "eu-north-1",
            "il-central-1",
            "me-south-1",
            "me-central-1",
            "mx-central-1",
            "sa-east-1",
            "us-gov-east-1",
            "us-gov-west-1",
            "cn-north-1",
            "cn-northwest-1",
        ]
    ),
    "azure": frozenset(
        [
            "eastus",
            "eastus2",
            "centralus",
            "northcentralus",
            "southcentralus",
            "westcentralus",
            "westus",
            "westus2",
            "westus3",
            "canadacentral",
            "canadaeast",
            "brazilsouth",
            "brazilsoutheast",
            "mexicocentral",
            "chilecentral",
            "northeurope",
            "westeurope",
            "uksouth",
            "ukwest",
            "francecentral",
            "francesouth",
            "germanywestcentral",
            "germanynorth",
            "switzerlandnorth",
            "switzerlandwest",
            "norwayeast",
            "norwaywest",
            "swedencentral",
            "swedensouth",
            "polandcentral",
            "italynorth",
            "spaincentral",
            "austriaeast",
            "belgiumcentral",
            "denmarkeast",
            "australiaeast",
            "australiasoutheast",
            "australiacentral",
            "australiacentral2",
            "eastasia",
            "southeastasia",
            "japaneast",
            "japanwest",
            "koreacentral",
            "koreasouth",
            "centralindia",
            "southindia",
            "westindia",
            "jioindiawest",
            "jioindiacentral",
            "uaenorth",
            "uaecentral",
            "qatarcentral",
            "israelcentral",
            "southafricanorth",
            "southafricawest",
            "newzealandnorth",
            "indonesiacentral",
            "malaysiawest",
        ]
    ),
}


def check_region(cloud: str, region: str) -> tuple[str, str] | None:
    """``("error"|"warning", message)`` when ``region`` is not a region of ``cloud``; None when it is."""
    if cloud not in REGIONS or region in REGIONS[cloud]:
        return None
    close = difflib.get_close_matches(region, sorted(REGIONS[cloud]), n=1)
    hint = f"did you mean `{close[0]}`?" if close else "check the spelling"
    pattern, shape = SHAPE[cloud]
    if not pattern.fullmatch(region):
        return "error", f"not {_NAME[cloud]} region name ({shape}) — {hint}"
    return "warning", f"not {_NAME[cloud]} region as of {AS_OF} — {hint} (ignore this if the region is newer)"
