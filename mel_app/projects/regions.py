"""The ILO region of every country a project may work in, for the regional selection rounds.

The ILO's five regions, as its regional offices divide the world: Africa; the Americas; the Arab
States (Bahrain, Iraq, Jordan, Kuwait, Lebanon, Oman, Qatar, Saudi Arabia, Syria, the United Arab
Emirates, Yemen and the occupied Palestinian territory); Asia and the Pacific; Europe and Central
Asia. North African countries belong to Africa; Türkiye, Israel, Cyprus and the Caucasus to Europe
and Central Asia; Iran and Afghanistan to Asia and the Pacific. Dependent territories go with
the region they lie in. Every code of the country catalogue (mel_app/projects/countries.py) has
exactly one region (a test checks).
"""

from __future__ import annotations

from mel_app.models import IloRegion

_CODES: dict[IloRegion, str] = {
    IloRegion.africa: (
        "AO BF BI BJ BW CD CF CG CI CM CV DJ DZ EG EH ER ET GA GH GM GN GQ GW IO KE KM LR LS LY MA "
        "MG ML MR MU MW MZ NA NE NG RE RW SC SD SH SL SN SO SS ST SZ TD TG TN TZ UG YT ZA ZM ZW"
    ),
    IloRegion.americas: (
        "AG AI AR AW BB BL BM BO BQ BR BS BZ CA CL CO CR CU CW DM DO EC FK GD GF GL GP GS GT GY HN "
        "HT JM KN KY LC MF MQ MS MX NI PA PE PM PR PY SR SV SX TC TT US UY VC VE VG VI"
    ),
    IloRegion.arab_states: "AE BH IQ JO KW LB OM PS QA SA SY YE",
    IloRegion.asia_pacific: (
        "AF AQ AS AU BD BN BT BV CC CK CN CX FJ FM GU HK HM ID IN IR JP KH KI KP KR LA LK MH MM MN "
        "MO MP MV MY NC NF NP NR NU NZ PF PG PH PK PN PW SB SG TF TH TK TL TO TV TW UM VN VU WF WS"
    ),
    IloRegion.europe_central_asia: (
        "AD AL AM AT AX AZ BA BE BG BY CH CY CZ DE DK EE ES FI FO FR GB GE GG GI GR HR HU IE IL IM "
        "IS IT JE KG KZ LI LT LU LV MC MD ME MK MT NL NO PL PT RO RS RU SE SI SJ SK SM TJ TM TR UA "
        "UZ VA XK"
    ),
}

REGION_OF: dict[str, IloRegion] = {code: region for region, codes in _CODES.items() for code in codes.split()}


def region_of(country: str | None) -> IloRegion | None:
    """The ILO region of a country code (None for a code outside the catalogue)."""
    return REGION_OF.get((country or "").upper())


def countries_of(region: IloRegion) -> list[str]:
    """The country codes of a region, sorted."""
    return sorted(code for code, r in REGION_OF.items() if r == region)
