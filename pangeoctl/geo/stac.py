"""STAC search: one call for earth-search, Planetary Computer (signed) or a local STAC API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class STACError(RuntimeError):
    """The catalog could not be searched; the message says what and what to try."""


def search(
    stac_url: str,
    collection: str,
    bbox: Sequence[float],
    datetime: str,
    max_cloud: float | None = None,
    limit: int | None = None,
) -> list[Any]:
    """Items of ``collection`` over ``bbox`` (lon/lat) in ``datetime`` (``"2024-01-01/2024-12-31"``).

    ``max_cloud`` filters on ``eo:cloud_cover`` (percent). Planetary Computer items come back signed.
    """
    import pystac_client
    from pystac_client.exceptions import APIError

    modifier = None
    if "planetarycomputer" in stac_url:
        try:
            import planetary_computer

            modifier = planetary_computer.sign_inplace
        except ImportError as e:
            raise STACError("Planetary Computer assets need signing: pip install planetary-computer") from e
    try:
        client = pystac_client.Client.open(stac_url, modifier=modifier)
        query = {"eo:cloud_cover": {"lt": max_cloud}} if max_cloud is not None else None
        found = client.search(collections=[collection], bbox=list(bbox), datetime=datetime, query=query, max_items=limit)
        items = list(found.items())
    except APIError as e:
        raise STACError(f"the STAC API at {stac_url} refused the search: {str(e)[:200]}") from None
    except pystac_client.exceptions.DoesNotConformTo:  # type: ignore[attr-defined]
        raise STACError(f"{stac_url} is a static catalog, not a STAC API with item search — point stac_url at an API") from None
    except (OSError, ValueError) as e:
        raise STACError(f"cannot reach a STAC API at {stac_url}: {e}") from None
    return sorted(items, key=lambda it: it.datetime)
