"""``/api/alerts``: alert rules on a dashboard series (CRUD) and each rule's history."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlparse

from litestar import Request, delete, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from collector.alerts import store
from collector.queries.access import scoped_project, storage_of
from collector.queries.controller import NamedDependency, QueryController, query_get
from collector.queries.errors import ApiError, BadParameter, NotFound, error_responses
from collector.queries.params import parse_limit
from common.wire.alerts import AlertHistory, AlertList, AlertRule, AlertRuleIn


def validate_rule(request: Request[Any, Any, Any], body: AlertRuleIn) -> AlertRuleIn:
    """What the body's types cannot say: the project the key may use, a usable webhook URL,
    the score a ``monitor_score`` rule averages, a non-blank name."""
    scoped_project(request, body.project)  # 403 for another project than the key's
    if not body.name.strip():
        raise BadParameter("name", "must not be blank")
    if body.webhook_url:
        url = urlparse(body.webhook_url)
        if url.scheme not in ("http", "https") or not url.netloc:
            raise BadParameter("webhook_url", "must be an http:// or https:// URL")
    if body.metric == "monitor_score" and not body.filters.score:
        raise BadParameter("filters.score", "a monitor_score alert needs the score name to average")
    return body


class AlertsController(QueryController):
    """Alert rules: fire a webhook when a project's series crosses a threshold."""

    path = "/api/alerts"
    tags = ["alerts"]

    @query_get("/")
    def list_alerts(self, request: Request[Any, Any, Any],
                    project_scope: NamedDependency[str | None]) -> AlertList:
        """Every rule (of ``project`` when given), newest first, with its state (ok | firing)."""
        return AlertList(alerts=store.list_rules(storage_of(request), project_scope))

    @post("/", sync_to_thread=True, responses=error_responses(400, 401, 403), status_code=201)
    def create_alert(self, request: Request[Any, Any, Any], data: JSONBody[AlertRuleIn]) -> AlertRule:
        """Create a rule; the collector evaluates it from its next pass on."""
        body = validate_rule(request, data)
        storage = storage_of(request)
        if store.count_rules(storage) >= store.MAX_RULES:
            raise ApiError(f"at most {store.MAX_RULES} alert rules; delete one first", 409)
        rule_id = store.save_rule(storage, body)
        return store.list_rules(storage, rule_id=rule_id)[0]

    def _rule(self, request: Request[Any, Any, Any], alert_id: str) -> AlertRule:
        found = store.list_rules(storage_of(request), rule_id=alert_id)
        if not found or scoped_project(request, None) not in (None, found[0].project):
            raise NotFound(f"no alert with id {alert_id}")
        return found[0]

    @query_get("/{alert_id:str}", responses=error_responses(401, 403, 404))
    def get_alert(self, request: Request[Any, Any, Any], alert_id: FromPath[str]) -> AlertRule:
        """One rule and its state."""
        return self._rule(request, alert_id)

    @put("/{alert_id:str}", sync_to_thread=True, responses=error_responses(400, 401, 403, 404))
    def update_alert(self, request: Request[Any, Any, Any], alert_id: FromPath[str],
                     data: JSONBody[AlertRuleIn]) -> AlertRule:
        """Replace a rule's settings (``enabled: false`` pauses it); its history stays."""
        old = self._rule(request, alert_id)
        body = validate_rule(request, data)
        storage = storage_of(request)
        store.save_rule(storage, body, rule_id=alert_id, created_at=store.created_of(storage, old.id))
        return store.list_rules(storage, rule_id=alert_id)[0]

    @delete("/{alert_id:str}", sync_to_thread=True, responses=error_responses(401, 403, 404), status_code=204)
    def delete_alert(self, request: Request[Any, Any, Any], alert_id: FromPath[str]) -> None:
        """Delete a rule (its history is kept)."""
        old = self._rule(request, alert_id)
        storage = storage_of(request)
        body = AlertRuleIn(**_fields(old))
        store.save_rule(storage, body, rule_id=alert_id, created_at=store.created_of(storage, old.id),
                        deleted=True)

    @query_get("/{alert_id:str}/history", responses=error_responses(400, 401, 403, 404))
    def alert_history(self, request: Request[Any, Any, Any], alert_id: FromPath[str],
                      limit: Annotated[int | None, QueryParameter(
                          description="1-1000, default 200")] = None) -> AlertHistory:
        """The rule's events, newest first: fired, resolved, and each notification's outcome."""
        self._rule(request, alert_id)
        return AlertHistory(events=store.history(storage_of(request), alert_id,
                                                 parse_limit(limit, 200, 1000)))


def _fields(rule: AlertRule) -> dict[str, Any]:
    import msgspec

    return {k: v for k, v in msgspec.structs.asdict(rule).items() if k not in ("id", "state", "created_at")}


ROUTES = [AlertsController]
