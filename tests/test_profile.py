"""Target profiles: defaults from the doc samples, env interpolation, errors naming keys."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from conformance.profile import SCHEMA_PATH, ProfileError, default_profile, load_profile
from conformance.spec import load_spec

SPEC = load_spec()
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "target-profile.yaml"
URL = "ws://127.0.0.1:9/"


def sample_data(api: str) -> dict:
    return SPEC.api(api).sample_requests[0].message["data"]


def load(doc: dict, env: dict | None = None):
    return load_profile(None, {"url": URL, **doc}, env=env or {})


def error(doc: dict, env: dict | None = None) -> ProfileError:
    with pytest.raises(ProfileError) as err:
        load(doc, env)
    return err.value


def test_schema_is_valid_2020_12():
    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA_PATH.read_text()))


def test_defaults_are_the_doc_sample_values():
    p = default_profile(URL)
    scoc = sample_data("SetCallOutcomeWithComments")
    assert p.url == URL
    assert p.fixtures.call_id == scoc["callid"]
    assert p.fixtures.account_number == scoc["AccountNumber"]
    assert p.fixtures.telephony_outcome_id == str(scoc["OutcomeId"])
    assert p.fixtures.business_outcome_id == str(sample_data("SkipManualDialContact")["OutcomeId"])
    assert p.fixtures.phone_number == sample_data("ManualDialCall")["PhoneNumber"]
    # The samples' two spellings of the test agent are one agent (D-26): one default agent.
    assert p.agents == (sample_data("GetReservedManualDialContact")["AgentID"],)
    assert p.second_agent is None
    assert p.apis == tuple(SPEC.apis) and p.campaign_manager_version is None
    assert not p.headers and not p.secrets and p.ca_file is None


def test_a_second_agent_only_when_the_profile_names_two():
    assert load_profile(None, {"url": URL, "agents": ["a"]}, env={}).second_agent is None
    assert load_profile(None, {"url": URL, "agents": ["a", "b"]}, env={}).second_agent == "b"
    with pytest.raises(ProfileError):  # one name twice is one agent: the profile says so at once
        load_profile(None, {"url": URL, "agents": ["a", "a"]}, env={})


def test_campaign_manager_version_drops_retired_apis():
    snpc = SPEC.api("SkipNonPEWCContact")
    assert load({"campaign_manager_version": snpc.max_cm_version}).offers(snpc.name)
    later = load({"campaign_manager_version": snpc.max_cm_version + 1})
    assert not later.offers(snpc.name) and len(later.apis) == len(SPEC.apis) - 1


def test_explicit_apis_win():
    assert load({"apis": ["ManualDialCall"]}).apis == ("ManualDialCall",)


def test_env_interpolation_collects_secrets():
    p = load({"headers": {"Authorization": "Bearer ${TOK}", "X-Id": "${A}-${B}", "X-Plain": "v"}},
             env={"TOK": "t0ken", "A": "a1", "B": ""})
    assert dict(p.headers) == {"Authorization": "Bearer t0ken", "X-Id": "a1-", "X-Plain": "v"}
    assert p.secrets == {"t0ken", "a1"}  # an empty value cannot be redacted
    assert "t0ken" not in repr(p)
    assert p.redactor()("Bearer t0ken") == "Bearer ***"
    assert p.describe()["headers"]["Authorization"] == "Bearer ***"


def test_missing_env_var_names_it_and_the_header():
    err = error({"headers": {"Authorization": "Bearer ${NOT_SET_ANYWHERE}"}})
    assert err.key == "headers.Authorization" and "NOT_SET_ANYWHERE" in str(err)


@pytest.mark.parametrize(
    ("doc", "key"),
    [
        ({"bogus": 1}, "bogus"),
        ({"timeouts": {"respnse": 1}}, "timeouts.respnse"),
        ({"fixtures": {"callid": "1"}}, "fixtures.callid"),
        ({"tls": {"ca": "x"}}, "tls.ca"),
        ({"timeouts": {"response": 0}}, "timeouts.response"),
        ({"timeouts": {"connect": "5s"}}, "timeouts.connect"),
        ({"agents": []}, "agents"),
        ({"agents": ["a", 3]}, "agents[1]"),
        ({"agents": ["a", "b", "c"]}, "agents"),
        ({"headers": {"X": 5}}, "headers.X"),
        ({"headers": {"bad name": "v"}}, "headers.bad name"),
        ({"url": "http://127.0.0.1/"}, "url"),
        ({"apis": ["ManualDialCall", "NoSuchApi"]}, "apis[1]"),
        ({"campaign_manager_version": "2308"}, "campaign_manager_version"),
        ({"tls": {"ca_file": "no-such-ca.pem"}}, "tls.ca_file"),
    ],
)
def test_bad_value_names_its_key(doc, key):
    err = error(doc)
    assert err.key == key
    assert key in str(err)


def test_url_is_required():
    with pytest.raises(ProfileError) as err:
        load_profile(None, {}, env={})
    assert err.value.key == "url"


def test_overrides_win_dotted_or_nested_and_none_is_not_given(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("url: ws://127.0.0.1:1/\ntimeouts: {connect: 1, response: 2}\n")
    overrides = {"url": URL, "timeouts.response": 3, "timeouts": {"run": 4}, "source": None}
    p = load_profile(path, overrides, env={})
    assert p.url == URL and p.origin == path
    assert (p.timeouts.connect, p.timeouts.response, p.timeouts.run) == (1.0, 3.0, 4.0)
    assert p.source == default_profile(URL).source


@pytest.mark.parametrize(
    ("text", "message"),
    [("url: [unclosed\n", "not valid YAML"), ("- a list\n", "YAML mapping")],
)
def test_unreadable_file_is_a_profile_error_naming_the_file(tmp_path, text, message):
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(ProfileError, match=message) as err:
        load_profile(path, env={})
    assert str(path) in str(err.value)


def test_missing_file_is_a_profile_error(tmp_path):
    with pytest.raises(ProfileError, match="cannot read"):
        load_profile(tmp_path / "absent.yaml")


def test_ca_file_is_relative_to_the_profile(tmp_path):
    (tmp_path / "ca.pem").write_text("not checked here")
    path = tmp_path / "p.yaml"
    path.write_text("url: wss://127.0.0.1:1/\ntls: {ca_file: ca.pem}\n")
    assert load_profile(path, env={}).ca_file == tmp_path / "ca.pem"


def test_the_example_profile_is_valid(tmp_path):
    shutil.copy(EXAMPLE, tmp_path / "profile.yaml")
    (tmp_path / "ca.pem").write_text("")
    p = load_profile(tmp_path / "profile.yaml", env={"LCM_TOKEN": "abc"})
    assert p.url.startswith("wss://") and p.secrets == {"abc"}
    assert p.fixtures.telephony_outcome_id == "1"  # ids are kept as text
