"""The stand-in's HTTP face: Kubernetes REST paths over aiohttp, on 127.0.0.1.

In: HTTP requests as Kubernetes clients send them (kubernetes_asyncio, kubectl-style paths,
``?watch=true|True|1``, JSON or YAML bodies, patch content types). Out: JSON responses, watch
streams of newline-delimited JSON events, and ``Status`` objects for every refusal. The only
module of the server side that imports aiohttp; everything it does is delegated to ApiServer.

Paths: /version, /healthz, /api, /api/v1, /apis, /apis/<g>, /apis/<g>/<v>, /openapi/v3 and
/openapi/v3/<api/v1|apis/g/v>, and under /api/v1 or /apis/<g>/<v>: <plural>[/<name>[/<sub>]]
and namespaces/<ns>/<plural>[/<name>[/<sub>]], trailing slashes accepted. A client that goes
away ends its watch (handler cancellation).

Query parameters beyond list/watch: ``dryRun=All`` on writes (validated, answered, not
stored), ``fieldValidation=Strict`` (unknown fields are 400; Ignore and Warn accept them, as
does leaving it out). A GET whose Accept asks for ``as=Table`` gets a meta.k8s.io/v1 Table
(``tables.py``, ``includeObject``). A resource that is a view of another's storage
(events.k8s.io Events) is converted on the way in and out.
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections import Counter
from dataclasses import dataclass
from typing import Any

import structlog
import yaml
from aiohttp import web

from contivpy.sim.kube import discovery, openapi, tables
from contivpy.sim.kube.apiserver import ApiServer
from contivpy.sim.kube.errors import KubeApiError, bad_request, method_not_allowed, not_found
from contivpy.sim.kube.objects import JsonObject, metadata_of, name_of
from contivpy.sim.kube.patching import apply_patch
from contivpy.sim.kube.resources import ResourceType
from contivpy.sim.kube.writes import check_fields

log = structlog.get_logger(__name__)

_TRUE = ("true", "True", "1")
_RETURN_OBJECT_ON_DELETE = {("", "pods"), ("", "services")}  # others answer Status Success
_FIELD_VALIDATION = ("", "Ignore", "Warn", "Strict")


@dataclass(frozen=True, slots=True)
class Target:
    """What a resource path names."""

    resource_type: ResourceType
    namespace: str | None  # None: all namespaces (or a cluster-scoped resource)
    name: str
    subresource: str


def _json(data: JsonObject, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(data).encode(), status=status, content_type="application/json"
    )


def _success(target: Target, obj: JsonObject | None, status: int = 200) -> web.Response:
    details: JsonObject = {"name": target.name, "kind": target.resource_type.plural}
    if target.resource_type.group:
        details["group"] = target.resource_type.group
    if obj is not None:
        details["uid"] = metadata_of(obj).get("uid")
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    }
    return _json(body, status)


class KubeHttpServer:
    """Serves one ApiServer over HTTP until stopped."""

    def __init__(self, api: ApiServer, host: str = "127.0.0.1", port: int = 0) -> None:
        self._api = api
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self.requests: Counter[str] = Counter()  # "<verb> <code>" -> count

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # handler_cancellation: a client closing its watch connection cancels the handler,
        # which unsubscribes the watch at once instead of at its next event.
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        log.info("kube.standin.listening", url=self.url)

    async def stop(self) -> None:
        if self._runner is None:
            return
        self._api.drop_watches("server stopping")
        await self._runner.cleanup()
        self._runner = None

    # --- dispatch --------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        verb = request.method
        try:
            response = await self._route(request)
        except KubeApiError as error:
            response = _json(error.to_status(), error.code)
        except Exception as error:  # a bug here must still answer like an API server
            log.exception("kube.standin.internal_error", path=request.path)
            response = _json(KubeApiError(500, "InternalError", repr(error)).to_status(), 500)
        self.requests[f"{verb} {response.status}"] += 1
        log.debug("kube.standin.request", verb=verb, path=request.path_qs, code=response.status)
        return response

    async def _route(self, request: web.Request) -> web.StreamResponse:
        segments = [s for s in request.path.split("/") if s]
        registry = self._api.registry
        match segments:
            case ["version"]:
                return _json(discovery.version_info())
            case ["healthz" | "livez" | "readyz"]:
                return web.Response(text="ok")
            case ["api"]:
                return _json(discovery.core_versions(f"{self._host}:{self._port}"))
            case ["apis"]:
                return _json(discovery.group_list(registry))
            case ["openapi", "v3"]:
                return _json(openapi.root(registry))
            case ["openapi", "v3", *name]:
                document = openapi.group_version(registry, "/".join(name))
                if document is None:
                    raise KubeApiError(404, "NotFound", f"{request.path} not found")
                return _json(document)
            case ["apis", group]:
                document = discovery.group(registry, group)
                if document is None:
                    raise not_found("groups", "", group)
                return _json(document)
            case ["api", version, *rest]:
                return await self._group_version(request, "", version, rest)
            case ["apis", group, version, *rest]:
                return await self._group_version(request, group, version, rest)
        raise KubeApiError(404, "NotFound", "the server could not find the requested resource")

    async def _group_version(
        self, request: web.Request, group: str, version: str, rest: list[str]
    ) -> web.StreamResponse:
        if not rest:
            document = discovery.resource_list(self._api.registry, group, version)
            if document is None:
                raise KubeApiError(
                    404, "NotFound", "the server could not find the requested resource"
                )
            return _json(document)
        target = self._target(group, version, rest)
        return await self._verb(request, target)

    def _target(self, group: str, version: str, rest: list[str]) -> Target:
        registry = self._api.registry
        namespace: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            scoped = registry.by_url(group, version, rest[2])
            if scoped is not None and scoped.namespaced:
                namespace, rest = rest[1], rest[2:]
        if len(rest) > 3:
            raise KubeApiError(404, "NotFound", "the server could not find the requested resource")
        resource_type = registry.by_url(group, version, rest[0])
        if resource_type is None:
            raise KubeApiError(404, "NotFound", "the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else ""
        subresource = rest[2] if len(rest) > 2 else ""
        if subresource and subresource not in resource_type.subresources:
            raise KubeApiError(404, "NotFound", "the server could not find the requested resource")
        if resource_type.namespaced and namespace is None and name:
            raise KubeApiError(404, "NotFound", "the server could not find the requested resource")
        return Target(resource_type, namespace, name, subresource)

    def _stored_type(self, resource_type: ResourceType) -> ResourceType:
        """The resource writes go to: itself, or the one whose storage it is a view of."""
        if resource_type.stored_as is None:
            return resource_type
        return next(
            t for t in self._api.registry if t.key == resource_type.key and t.stored_as is None
        )

    async def _verb(self, request: web.Request, target: Target) -> web.StreamResponse:
        query = request.query
        dry_run = _dry_run(query.get("dryRun", ""))
        validation = query.get("fieldValidation", "")
        if validation not in _FIELD_VALIDATION:
            raise bad_request(
                f'fieldValidation: Unsupported value: "{validation}": supported values: '
                '"Ignore", "Strict", "Warn"'
            )
        strict = validation == "Strict"
        writer = self._api.writer
        rtype, namespace, name = target.resource_type, target.namespace or "", target.name
        stored = self._stored_type(rtype)
        to_storage = rtype.to_storage or (lambda obj: obj)
        match request.method, bool(name), target.subresource:
            case "GET", False, _:
                if query.get("watch") in _TRUE:
                    return await self._watch(request, target)
                listed = self._list(request, target)
                if _wants_table(request):
                    items = [to_storage(i) for i in listed["items"]]
                    return _json(self._table(request, rtype, items, listed["metadata"]))
                return _json(listed)
            case "GET", True, _:
                if query.get("watch") in _TRUE:
                    return await self._watch(request, target)
                found = writer.get(rtype, namespace, name)
                if _wants_table(request):
                    version = metadata_of(found).get("resourceVersion", "")
                    meta = {"resourceVersion": version}
                    return _json(self._table(request, rtype, [found], meta))
                return _json(rtype.present(found))
            case "POST", False, "":
                if rtype.namespaced and target.namespace is None:
                    raise method_not_allowed("POST", f"{rtype.plural} across all namespaces")
                body = await _body(request)
                if strict:
                    check_fields(rtype, body)
                created = writer.create(stored, namespace, to_storage(body), dry_run=dry_run)
                return _json(rtype.present(created), 201)
            case "POST", True, "binding":
                binding = await _body(request)
                node = (
                    (binding.get("target") or {}).get("name") if isinstance(binding, dict) else None
                )
                if not node:
                    raise bad_request("binding target name is required")
                if not dry_run:
                    writer.bind(namespace, name, node)
                return _success(target, None, 201)
            case "PUT", True, sub:
                body = await _body(request)
                if strict:
                    check_fields(rtype, body)
                replaced = writer.replace(
                    stored, namespace, name, to_storage(body), subresource=sub, dry_run=dry_run
                )
                return _json(rtype.present(replaced))
            case "PATCH", True, sub:
                content_type = request.headers.get("Content-Type", "")
                body = await _body(request)
                if strict:
                    check_fields(rtype, body, patch=True)
                if stored is not rtype:
                    # The patch is in this version's shape: apply it to the object as this
                    # version shows it, then store the result in the storage's shape.
                    current = rtype.present(writer.get(stored, namespace, name))
                    new = to_storage(apply_patch(current, body, content_type))
                    patched = writer.replace(
                        stored, namespace, name, new, subresource=sub, dry_run=dry_run
                    )
                else:
                    patched = writer.patch(
                        rtype,
                        namespace,
                        name,
                        body,
                        content_type,
                        subresource=sub,
                        dry_run=dry_run,
                    )
                return _json(rtype.present(patched))
            case "DELETE", True, "":
                options = await _body(request, required=False)
                options = options if isinstance(options, dict) else None
                # kubectl delete --dry-run=server says it in DeleteOptions, not the query.
                dry_run = dry_run or _dry_run_listed((options or {}).get("dryRun"))
                gone = writer.delete(rtype, namespace, name, options, dry_run=dry_run)
                if rtype.key in _RETURN_OBJECT_ON_DELETE:
                    return _json(rtype.present(gone))
                return _success(target, gone)
            case "DELETE", False, "":
                listed = self._list(request, target)
                for item in listed["items"]:
                    item_ns = metadata_of(item).get("namespace", "")
                    writer.delete(rtype, item_ns, name_of(item), dry_run=dry_run)
                return _success(target, None)
        raise method_not_allowed(request.method, request.path)

    def _table(
        self,
        request: web.Request,
        resource_type: ResourceType,
        objects: list[JsonObject],
        list_metadata: JsonObject,
    ) -> JsonObject:
        include = request.query.get("includeObject", "Metadata")
        if include not in ("None", "Metadata", "Object"):
            raise bad_request(
                f'includeObject: Unsupported value: "{include}": supported values: '
                '"Metadata", "None", "Object"'
            )
        return tables.table(resource_type, objects, list_metadata, include)

    def _list(self, request: web.Request, target: Target) -> JsonObject:
        query = request.query
        return self._api.list(
            target.resource_type,
            target.namespace,
            label_selector=query.get("labelSelector", ""),
            field_selector=query.get("fieldSelector", ""),
            resource_version=query.get("resourceVersion", ""),
            resource_version_match=query.get("resourceVersionMatch", ""),
            limit=_int(query.get("limit"), "limit"),
            continue_token=query.get("continue", ""),
        )

    def _table_event(
        self, request: web.Request, resource_type: ResourceType, event: JsonObject
    ) -> JsonObject:
        """A watch event whose object is a one-row Table (kubectl get --watch)."""
        obj = event["object"]
        if resource_type.to_storage is not None:
            obj = resource_type.to_storage(obj)
        meta = {"resourceVersion": metadata_of(obj).get("resourceVersion", "")}
        return {**event, "object": self._table(request, resource_type, [obj], meta)}

    async def _watch(self, request: web.Request, target: Target) -> web.StreamResponse:
        query = request.query
        initial = query.get("sendInitialEvents")
        timeout = query.get("timeoutSeconds")
        watch = self._api.open_watch(
            target.resource_type,
            target.namespace,
            name=target.name,
            label_selector=query.get("labelSelector", ""),
            field_selector=query.get("fieldSelector", ""),
            resource_version=query.get("resourceVersion", ""),
            bookmarks=query.get("allowWatchBookmarks") in _TRUE,
            send_initial_events=None if initial is None else initial in _TRUE,
            # timeoutSeconds=0 means "no timeout given", as on the real server.
            timeout=float(_int(timeout, "timeoutSeconds")) or None,
        )
        as_table = _wants_table(request)
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        reason = "client gone"
        try:
            async with contextlib.aclosing(watch.events()) as events:
                async for event in events:
                    if as_table and event.get("type") in ("ADDED", "MODIFIED", "DELETED"):
                        event = self._table_event(request, target.resource_type, event)
                    await response.write(json.dumps(event).encode() + b"\n")
            reason = watch.close_reason or "ended"
            await response.write_eof()
        except ConnectionResetError:
            pass  # the client went away mid-write; nothing left to tell it
        finally:
            watch.close(reason)
            self._api.watches_closed[reason] += 1
        return response


def _dry_run(value: str) -> bool:
    if value not in ("", "All"):
        raise bad_request(f'dryRun: Unsupported value: "{value}": supported values: "All"')
    return value == "All"


def _dry_run_listed(value: Any) -> bool:
    if value in (None, []):
        return False
    if value != ["All"]:
        raise bad_request(f'dryRun: Unsupported value: "{value}": supported values: "All"')
    return True


def _wants_table(request: web.Request) -> bool:
    """Whether the client asked for a Table (kubectl get: ``application/json;as=Table;...``
    first, plain JSON as its fallback)."""
    accepted = request.headers.get("Accept", "")
    return any("as=Table" in part.replace(" ", "") for part in accepted.split(","))


def _int(text: str | None, name: str) -> int:
    if not text:
        return 0
    try:
        return int(text)
    except ValueError:
        raise bad_request(f'{name}: Invalid value: "{text}"') from None


async def _body(request: web.Request, *, required: bool = True) -> Any:
    raw = await request.read()
    if not raw:
        if required:
            raise bad_request("the body of the request is empty")
        return None
    content_type = request.headers.get("Content-Type", "")
    try:
        if "yaml" in content_type:
            return yaml.safe_load(raw)
        return json.loads(raw)
    except (ValueError, yaml.YAMLError) as error:
        raise bad_request(f"the body of the request could not be decoded: {error}") from None
