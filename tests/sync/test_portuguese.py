"""The engine's pages as the Brazilian back office reads them (issue 13): the health page,
the runs log, the channel page's sync panel and de-para inlines, in pt-BR by default and in
English when the browser asks for it."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from channels.services import channel_set_status
from sync.models import RunState, SyncRun
from tests.factories import make_channel


@pytest.fixture
def portuguese(settings):
    """The product's default language, as a request without Accept-Language gets it."""
    settings.LANGUAGE_CODE = "pt-br"
    with translation.override(None):
        yield


def active_vtex(name="Loja Própria"):
    channel = make_channel(
        connector="vtex",
        name=name,
        credentials={"account_name": "lojapt", "app_key": "k-pt-1", "app_token": "t-pt-1"},
    )
    channel_set_status(channel=channel, status="active")
    return channel


def failed_run(channel) -> SyncRun:
    run = SyncRun.objects.create(
        channel=channel,
        flow="stock",
        state=RunState.PARTIAL,
        total=1234,
        done=1234,
        detail={"counts": {"rejected": 2}},
    )
    started = timezone.now() - timedelta(minutes=3)
    SyncRun.objects.filter(pk=run.pk).update(
        started_at=started, finished_at=started + timedelta(minutes=2, seconds=5)
    )
    return run


@pytest.mark.django_db
def test_the_health_page_speaks_portuguese_and_english_on_request(admin_client, portuguese):
    active_vtex()
    url = reverse("sync_health")
    html = admin_client.get(url).content.decode()
    assert 'lang="pt-br"' in html
    for text in (
        "Saúde da sincronização",
        "Um fluxo está <strong>atrasado</strong>",
        "Conector",
        "Pedidos retidos",
        "Pedidos em quarentena",
        "Diagnóstico",
        "pendência mais antiga",
        "Última importação de pedidos bem-sucedida",
        "Estoque",  # the push flows' columns, labelled by the vendor layer
        "Preços",
        "Ativo",  # the channel's status
    ):
        assert text in html, text
    assert "Sync health" not in html and "Verdict" not in html and "oldest pending" not in html

    english = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'lang="en"' in english
    assert "Sync health" in english and "Verdict" in english and "Prices" in english
    assert "Saúde da sincronização" not in english


@pytest.mark.django_db
def test_a_sync_run_page_and_the_runs_log_speak_portuguese(admin_client, portuguese):
    run = failed_run(active_vtex())
    html = admin_client.get(reverse("admin:sync_syncrun_change", args=[run.pk])).content.decode()
    for text in (
        "execução de sincronização",
        "Concluída com erros em itens",  # the state
        "2 item(ns) recusado(s) pelo canal",  # the problem, in words
        "2min05s",  # the duration
        "Requisições enviadas",
        "Canal de venda",
        "Estoque",  # the flow
        "Agendamento",  # the trigger
    ):
        assert text in html, text
    assert "Finished with item errors" not in html and "rejected by the vendor" not in html

    changelist = admin_client.get(reverse("admin:sync_syncrun_changelist")).content.decode()
    assert "Execuções de sincronização" in changelist or "execuções de sincronização" in changelist
    assert "Saúde da sincronização" in changelist  # the object tool
    assert "1234/1234" in changelist  # progress: a count, not a localized number

    english = admin_client.get(
        reverse("admin:sync_syncrun_change", args=[run.pk]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "Finished with item errors" in english
    assert "2 item(s) rejected by the vendor" in english and "2m 05s" in english


@pytest.mark.django_db
def test_the_channel_page_titles_its_de_para_and_sync_panel_in_portuguese(admin_client, portuguese):
    channel = active_vtex()
    failed_run(channel)
    url = reverse("admin:channels_saleschannel_change", args=[channel.pk])
    html = admin_client.get(url).content.decode()
    for text in (
        "De-para: transportadora e serviço",
        "De-para: formas de pagamento",
        "De-para: situações do pedido",
        "De-para: locais de estoque → depósitos do ERP",
        "Código da transportadora no canal",
        "Qualquer outro valor",
        "Situação da sincronização",
        "Próxima execução",
        "Pedidos retidos (de-para faltando):",
        "Saúde da sincronização de todos os canais",
        "Executar agora",  # the object tool
    ):
        assert text in html, text
    changelist = reverse("admin:channels_saleschannel_changelist")
    actions = admin_client.get(changelist).content.decode()
    assert "Executar agora (enfileirar todos os fluxos ativados)" in actions
    assert "Ressincronização completa" in actions
    assert "De-para: carrier + service" not in html and "Sync status" not in html

    english = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "De-para: carrier + service" in english and "Sync status" in english
    assert "De-para: transportadora e serviço" not in english


@pytest.mark.django_db
def test_the_run_now_page_names_the_flows_in_portuguese(admin_client, portuguese):
    channel = active_vtex()
    url = reverse("admin:sync_channel_run_now", args=[channel.pk])
    html = admin_client.get(url).content.decode()
    assert "Enfileirar agora uma execução de cada fluxo ativado de" in html
    assert "<li>Estoque</li><li>Preços</li><li>Pedidos</li>" in html
    assert 'value="Executar agora"' in html and "Cancelar" in html
