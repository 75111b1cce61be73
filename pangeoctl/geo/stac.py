"""STAC search: one call for earth-search, Planetary Computer or a local STAC API.

Items come back as the catalog serves them: Planetary Computer's unsigned. Signing happens on the Dask
workers as they open each file (:func:`pangeoctl.geo.landsat.load`), because a token signed here lasts
~45 minutes and a long job would start failing with 403 midway.
"""

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

    ``max_cloud`` filters on ``eo:cloud_cover`` (percent).
    """
    import pystac_client
    from pystac_client.exceptions import APIError

    try:
        client = pystac_client.Client.open(stac_url)
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
