"""The activation pages as the Brazilian back office and support read them (issue 13): pt-BR
by default, English for a browser that asks for it — the pages, the checks the worker wrote,
the messages after testing the connection and activating."""

from __future__ import annotations

import pytest
from django.utils import translation

from channels.models import ChannelStatus
from sync.models import PreflightRun
from tests.factories import make_member, make_sku
from tests.sync.activation.builders import ready_channel
from tests.sync.activation.test_admin import support_client, texts, url, worker  # noqa: F401

ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def portuguese(settings):
    """The product's default language, as a request without Accept-Language gets it."""
    settings.LANGUAGE_CODE = "pt-br"
    with translation.override(None):
        yield


def store(ml, client):
    channel = ready_channel(ml, "mercadolivre")
    make_member(client.user, channel.company)
    make_sku(channel.company, code="A-1")
    ml.add_listing(seller_sku="A-1")
    return channel


def open_checked_page(worker, channel, **headers):  # noqa: F811 - the fixture, passed in
    """The activation page as `headers` ask for it, once the worker has run its checks."""
    with worker.queued() as queued:
        running = worker.client.get(url("activate", channel), **headers)
    worker.run(queued)
    return running.content.decode(), worker.client.get(url("activate", channel), **headers)


@pytest.mark.django_db
def test_support_tests_the_connection_and_activates_in_portuguese(
    ml,
    support_client,  # noqa: F811
    worker,  # noqa: F811
    portuguese,
):
    channel = store(ml, support_client)

    page = support_client.get(url("test_connection", channel)).content.decode()
    assert 'lang="pt-br"' in page
    assert "Testar a conexão de “" in page
    assert 'value="Testar a conexão agora"' in page and "Voltar ao canal" in page
    assert "Última verificação: nunca." in page
    response = support_client.post(url("test_connection", channel))
    assert texts(response) == ["Conectado a Mercado Livre: conta 123456789."]
    buttons = dict(support_client.get(url("change", channel)).context["channel_tools"])
    assert {"Testar conexão", "Ativar…", "Histórico de ativação"} <= set(buttons)

    running, page = open_checked_page(worker, channel)
    assert "Executando as verificações…" in running and "Aguardando um worker" in running
    html = page.content.decode()
    assert "Ativar a integração de “" in html
    for title in (
        "Credenciais completas",
        "Conexão verificada ao vivo",
        "Nenhum outro canal deste sistema na conta",
        "Nenhum outro ERP conectado à conta",
        "De-para completo",
        "Dados compatíveis",
        "Fluxos e configurações dentro dos limites do fornecedor",
    ):
        assert title in html
    # The messages the worker wrote are in the requester's language too.
    assert "1 anúncio(s) lido(s): 1 correspondem a um SKU do ERP" in html
    assert "Todos os campos obrigatórios estão guardados." in html
    assert "✔ aprovada" in html and 'value="Ativar"' in html
    assert "Executar as verificações novamente" in html
    for english in ("Credentials complete", "Data compatible", "Run the checks again", "✔ pass"):
        assert english not in html
    report = support_client.get(url("activation_report", channel)).content.decode()
    assert report.startswith("problema,SKU do vendedor,EAN,id do item,")

    run = PreflightRun.objects.get(channel=channel)
    response = support_client.post(url("activate", channel), {"run": run.pk})
    assert response.status_code == 302
    (message,) = texts(response)
    assert message.startswith(f"“{channel}” está ativo na conta 123456789: 1 vínculo(s)")
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.ACTIVE


@pytest.mark.django_db
def test_a_browser_asking_for_english_gets_the_activation_in_english(
    ml,
    support_client,  # noqa: F811
    worker,  # noqa: F811
    portuguese,
):
    channel = store(ml, support_client)

    page = support_client.get(url("test_connection", channel), **ENGLISH).content.decode()
    assert 'lang="en"' in page and 'value="Test connection now"' in page
    response = support_client.post(url("test_connection", channel), **ENGLISH)
    assert texts(response) == ["Connected to Mercado Livre: account 123456789."]

    running, page = open_checked_page(worker, channel, **ENGLISH)
    assert "Running the checks…" in running and "Waiting for a worker" in running
    html = page.content.decode()
    assert "Activate the integration of “" in html
    assert "Credentials complete" in html and "Data compatible" in html
    assert "Fetched 1 listing(s): 1 match an ERP SKU" in html
    assert "✔ pass" in html and 'value="Activate"' in html
    assert "Credenciais completas" not in html and "anúncio" not in html
    report = support_client.get(url("activation_report", channel), **ENGLISH).content.decode()
    assert report.startswith("problem,seller SKU,EAN,item id,")

    run = PreflightRun.objects.get(channel=channel)
    response = support_client.post(url("activate", channel), {"run": run.pk}, **ENGLISH)
    (message,) = texts(response)
    assert message.startswith(f"“{channel}” is active on account 123456789: 1 product binding")


@pytest.mark.django_db
def test_check_titles_follow_the_reader_when_the_result_was_written_in_the_other_language(
    ml,
    support_client,  # noqa: F811
    worker,  # noqa: F811
    portuguese,
):
    channel = store(ml, support_client)
    open_checked_page(worker, channel)  # checked for a Portuguese reader
    assert PreflightRun.objects.get(channel=channel).checks[0]["title"] == "Credenciais completas"

    html = support_client.get(url("activate", channel), **ENGLISH).content.decode()

    assert "Credentials complete" in html and "Credenciais completas" not in html
