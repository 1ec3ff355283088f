from backbone.problems import field_errors


def test_nested_marshmallow_messages_become_one_error_per_field_with_a_json_pointer():
    messages = {
        "family_member": {"contact": {"phone": ["Enter a telephone number."]}},
        "children": {"ages": {0: ["Too old."]}},
        "_schema": ["Something about the whole."],
    }
    assert field_errors(messages) == [
        {"pointer": "/family_member/contact/phone", "detail": "Enter a telephone number."},
        {"pointer": "/children/ages/0", "detail": "Too old."},
        {"pointer": "/", "detail": "Something about the whole."},
    ]


def test_pointers_escape_tilde_and_slash_as_rfc_6901_asks():
    messages = {"a/b": {"c~d": ["Wrong."]}}
    assert field_errors(messages) == [{"pointer": "/a~1b/c~0d", "detail": "Wrong."}]
