"""How the directory is searched, without I/O: what a service is found by, the order of
what is found, and where a page of the whole listing lies."""

from __future__ import annotations

from backbone.events import vocabulary
from services.directory import search as searching
from services.directory.taxonomy import need_term_id

TERM_NAMES = {need_term_id(code): name for code, name in vocabulary.NEEDS.items()}


def candidate(name, description="", areas=("Scotland",), needs=(), number=0):
    """A service as stored, with what the directory derives for searching."""
    service = {
        "_id": name,
        "listing_number": number,
        "name": name,
        "description": description,
        "service_areas": [{"name": area} for area in areas],
        "attributes": [{"taxonomy_term_id": need_term_id(need)} for need in needs],
    }
    return service | searching.search_fields(service, "Some Organisation", TERM_NAMES)


def search(text="", local_authorities=()):
    return searching.ServiceSearch(searching.words(text), list(local_authorities))


def test_local_services_come_before_national_ones_whatever_their_score():
    ranked = searching.rank(
        [
            candidate("Bereavement helpline", "bereavement support", needs=["bereavement"]),
            candidate("Drop-in", "after a bereavement", areas=["Inverclyde"]),
        ],
        search("bereavement", ["INVERCLYDE"]),
    )
    assert ranked == ["Drop-in", "Bereavement helpline"]


def test_an_area_search_leaves_out_other_areas_but_keeps_national_services():
    services = [
        candidate("Drop-in", areas=["Glasgow City"]),
        candidate("Helpline"),
        candidate("Café", areas=["Inverclyde"]),
    ]
    assert searching.rank(services, search("", ["INVERCLYDE"])) == ["Café", "Helpline"]


def test_a_word_in_the_name_outranks_one_in_the_needs_which_outranks_the_description():
    ranked = searching.rank(
        [
            candidate("Advice line", "housing advice"),
            candidate("Welfare rights", needs=["housing"]),
            candidate("Housing options"),
        ],
        search("housing"),
    )
    assert ranked == ["Housing options", "Welfare rights", "Advice line"]


def test_every_word_must_start_a_word_somewhere_accents_and_case_aside():
    services = [candidate("Café Counselling", "for families"), candidate("Counselling")]
    assert searching.rank(services, search("CAFE couns")) == ["Café Counselling"]
    assert searching.rank(services, search("ounselling")) == []
    assert searching.rank(services, search("couns")) == ["Café Counselling", "Counselling"]


def test_without_words_or_an_area_services_come_in_the_order_they_were_added():
    services = [candidate("Zebra", number=1), candidate("Aardvark", number=7), candidate("Mole")]
    assert searching.rank(services, search("")) == ["Mole", "Zebra", "Aardvark"]


def test_each_start_of_a_word_weighs_most_in_the_names_then_the_needs_then_the_text():
    service = candidate("Cruse", "Grief support", areas=["Inverclyde"], needs=["bereavement"])
    weights = service["word_weights"]
    assert weights["c"] == weights["cruse"] == weights["organisation"] == 3
    assert weights["bereav"] == 2 and weights["grie"] == weights["inverclyde"] == 1
    assert "ruse" not in weights
    assert (service["sort_name"], service["area_codes"]) == ("cruse", ["INVERCLYDE"])


def test_a_service_is_looked_up_by_the_first_letters_of_its_words_in_each_area_or_none():
    two_areas = candidate("Cruse", areas=["Inverclyde", "Scotland"], needs=["bereavement"])
    assert {"INVERCLYDE:crus", "SCOTLAND:bere", "SCOTLAND:scot"} <= set(two_areas["area_words"])
    assert "SCOTLAND:cruse" not in two_areas["area_words"]
    nowhere = candidate("Drop-in", areas=())
    assert "UNPLACED:drop" in nowhere["area_words"]
    assert "UNPLACED:in" not in nowhere["area_words"]  # too short to be looked up
    # the longest word is looked up, in the areas searched, or in every area
    assert search("cruse bereavement", ["INVERCLYDE"]).lookup_tokens() == [
        "INVERCLYDE:bere",
        "SCOTLAND:bere",
    ]
    assert "UNPLACED:crus" in search("cruse").lookup_tokens()
    assert search("in a", ["INVERCLYDE"]).lookup_tokens() == []  # the area finds those


def test_a_stretch_of_the_listing_is_read_from_the_block_it_starts_in():
    block = searching.LISTING_BLOCK
    blocks = {0: block, 1: 10, 3: block}  # block 1 lost services, block 2 all of them
    # six services from the third of block 1 on
    assert searching.listing_span(blocks, block + 2, 6) == (block, 2 * block, 2)
    # twenty from the seventh of block 1 run on into block 3, past the empty block 2
    assert searching.listing_span(blocks, block + 6, 20) == (block, 4 * block, 6)
    # the rest of the listing after block 1's ten: block 3
    assert searching.listing_span(blocks, block + 10, 0) == (3 * block, 4 * block, 0)
    assert searching.listing_span(blocks, 0, 5) == (0, block, 0)
