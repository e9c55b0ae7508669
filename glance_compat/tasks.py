"""Image API v2 tasks: /v2/tasks, /v2/tasks/{id} and /v2/images/{id}/tasks.

Thin views over ``engine.tasks`` (``artifacts.tasks``) in Glance's words:

* every ``/v2/tasks`` call first needs the ``tasks_api_access`` rule
  (admin by default, as in Glance 33); an admin sees every task, anyone
  else the operator lets in sees their project's only (another project's
  task is 404, not Glance's 403: its existence is not disclosed);
* ``POST /v2/tasks`` creates ``import`` tasks (the legacy import: a new
  image from ``image_properties``, its data fetched from ``import_from``
  through the same URL rules as web-download) after Glance's checks;
  ``api_image_import`` and ``location_import`` tasks are made by the
  import and location calls, so one posted here fails at once with
  Glance's messages;
* lists filter (``status``, ``type`` and the task's columns), sort
  (``sort_key``, ``sort_dir``) and page (``limit``, ``marker``) as
  Glance's do; ``DELETE`` is Glance's 405;
* ``GET /v2/images/{id}/tasks`` (v2.12) shows the tasks of an image the
  caller may see, in Glance's raw database form (naive timestamps with
  microseconds, ``deleted``/``deleted_at``), needing no task rule.
"""

import urllib.parse

import flask

from artifacts import errors
from artifacts.ids import is_canonical_uuid
from artifacts.net import urls
from glance_compat import property_protections
from glance_compat.common import (context, json_body, json_response,
                                  reject_body, services)
from glance_compat.import_tasks import LEGACY_IMPORT
from glance_compat.schemas import get_schemas
from glance_compat.serialize import dumps, timestamp

bp = flask.Blueprint("glance_tasks", __name__)

STATUSES = ("pending", "processing", "success", "failure")
# Glance's task attributes a list may filter or sort by -> our columns.
COLUMNS = {"id": "id", "type": "type", "status": "status", "owner": "owner",
           "image_id": "artifact_id", "request_id": "request_id",
           "user_id": "user_id", "expires_at": "expires_at",
           "created_at": "created_at", "updated_at": "updated_at"}
RAW_TIME = "%Y-%m-%dT%H:%M:%S.%f"
NOT_HERE = ("This operation is currently not permitted on Glance Tasks. "
            "They are auto deleted after reaching the time based on their "
            "expires_at property.")


def _access(rule=None):
    """Glance's ``tasks_api_access`` gate, then the call's own rule
    (``add_task``, ``get_tasks``, ``get_task``).  Glance 33 registers the
    latter but no longer checks them (only the gate); their defaults
    (``rule:default``) allow whoever passes the gate, and Glare checks
    them so that an operator who sets one gets what its name says."""
    svc = services()
    target = {"project_id": context().project_id}
    svc.engine.enforcer.enforce(context(), "tasks_api_access", target)
    if rule:
        svc.engine.enforcer.enforce(context(), rule, target)
    return svc


# ------------------------------------------------------------- rendering

def task_view(task):
    """Glance's full task (GET /v2/tasks/{id}, POST's answer)."""
    out = {"id": task["id"], "input": task["input"], "type": task["type"],
           "status": task["status"], "owner": task["owner"],
           "message": task["message"] or "", "result": task["result"],
           "created_at": timestamp(task["created_at"]),
           "updated_at": timestamp(task["updated_at"]),
           "self": "/v2/tasks/%s" % task["id"],
           "schema": "/v2/schemas/task"}
    for key, column in (("image_id", "artifact_id"),
                        ("request_id", "request_id"),
                        ("user_id", "user_id")):
        if task[column]:
            out[key] = task[column]
    if task["expires_at"]:
        out["expires_at"] = timestamp(task["expires_at"])
    return out


def stub_view(task):
    """A task in a list: no input, result or message."""
    out = {"id": task["id"], "type": task["type"], "status": task["status"],
           "owner": task["owner"],
           "created_at": timestamp(task["created_at"]),
           "updated_at": timestamp(task["updated_at"]),
           "self": "/v2/tasks/%s" % task["id"],
           "schema": "/v2/schemas/task"}
    if task["expires_at"]:
        out["expires_at"] = timestamp(task["expires_at"])
    return out


def _raw_time(value):
    return value.strftime(RAW_TIME) if value is not None else None


def image_task_view(task):
    """A task as GET /v2/images/{id}/tasks shows it (Glance's row)."""
    return {"id": task["id"], "type": task["type"],
            "status": task["status"], "owner": task["owner"],
            "expires_at": _raw_time(task["expires_at"]),
            "created_at": _raw_time(task["created_at"]),
            "updated_at": _raw_time(task["updated_at"]),
            "deleted_at": None, "deleted": False,
            "image_id": task["artifact_id"],
            "request_id": task["request_id"], "user_id": task["user_id"],
            "input": task["input"], "result": task["result"],
            "message": task["message"] or ""}


# ----------------------------------------------------------------- views

@bp.route("/v2/tasks", methods=["POST"])
def create():
    svc = _access("add_task")
    body = json_body()
    for key in ("type", "input"):
        if key not in body:
            raise errors.Invalid("Task '%s' is required" % key)
    if not isinstance(body, dict):
        # ["type", "input"] passes the checks above (Glance's 500).
        raise errors.Invalid("The task must be a JSON object.")
    get_schemas().validate_task(body)
    task_type, task_input = body["type"], body["input"]
    failure = None
    if task_type == LEGACY_IMPORT:
        _check_import_from(svc.engine, (task_input or {}).get("import_from"))
        failure = _refused_property((task_input or {}).get("image_properties"))
    else:
        failure = _not_posted(task_type, task_input)
    task = svc.engine.tasks.create(
        context(), task_type, task_input,
        handler=LEGACY_IMPORT if failure is None else None)
    view = task_view(task)
    if failure is not None:
        svc.engine.tasks.finish(task, "failure", message=failure)
    location = (flask.request.host_url.rstrip("/") +
                flask.request.script_root + view["self"])
    return json_response(dumps(view), 201, {"Location": location})


def _check_import_from(engine, location):
    """Glance's checks of a legacy task's ``import_from`` (400s)."""
    if not location:
        raise errors.Invalid("Invalid location: %s" % location)
    if not isinstance(location, str) or not location.startswith(
            ("http://", "https://")):
        if isinstance(location, str) and location.startswith(
                ("file:///", "filesystem:///")):
            raise errors.Invalid("File based imports are not allowed. "
                                 "Please use a non-local source of image "
                                 "data.")
        raise errors.Invalid("The given uri is not valid. Please specify a "
                             "valid uri from the following list of "
                             "supported uri ['http']")
    try:
        urls.check_fetchable(location, engine.import_policy)
    except urls.Refused as exc:
        flask.current_app.logger.info("import_from %r refused: %s",
                                      location, exc.message)
        raise errors.Invalid("URI for legacy import task does not pass "
                             "filtering: %s" % location)


def _refused_property(properties):
    """Glance runs a legacy import as its poster, through the property
    protections: a property in ``image_properties`` the poster may not
    create fails the task before any image is made (the task runner here
    creates the image with a context of fixed roles, so the poster's roles
    are judged now).  Glance's message is its catch-all "Task failed
    due to Internal Error"; this one names the property, in the words of
    the image create's 403."""
    if not isinstance(properties, dict):
        return None  # the task fails on it later, as in Glance
    try:
        property_protections.check_create(property_protections.for_request(),
                                          properties)
    except errors.Forbidden as exc:
        return exc.message
    return None


def _not_posted(task_type, task_input):
    """Why a task of another type posted here fails at once (Glance's
    executor messages)."""
    if not task_input:
        return "Input to %s task is empty." % task_type
    keys = (["image_id"] if task_type == "api_image_import"
            else ["image_id", "loc_url", "validation_data"])
    for key in keys:
        if key not in task_input:
            return ("Missing required 'image_id' field" if key == "image_id"
                    and task_type == "api_image_import" else
                    "Input does not contain '%s' field" % key)
    return ("Tasks of type %s are made by the image API (POST /v2/images/"
            "{image_id}/import or /locations), not by POST /v2/tasks."
            % task_type)


@bp.route("/v2/tasks", methods=["GET"])
def index():
    svc = _access("get_tasks")
    params = flask.request.args
    limit = _limit(params.get("limit"), svc.settings)
    marker = params.get("marker")
    if marker is not None and marker and not is_canonical_uuid(
            marker.lower()):
        raise errors.Invalid("Invalid marker format")
    sort_dir = params.get("sort_dir", "desc")
    if sort_dir not in ("asc", "desc"):
        raise errors.Invalid("Invalid sort direction: %s" % sort_dir)
    sort_key = params.get("sort_key", "created_at")
    if sort_key not in COLUMNS:
        raise errors.Invalid("Sort key supplied was not valid.")
    filters = {}
    for key, value in params.items():
        if key in ("limit", "marker", "sort_dir", "sort_key"):
            continue
        if key == "status" and value and value not in STATUSES:
            raise errors.Invalid("Invalid status value: %s" % value)
        if key == "type" and value and value != LEGACY_IMPORT:
            raise errors.Invalid("Invalid type value: %s" % value)
        if key in COLUMNS and key not in ("expires_at", "created_at",
                                          "updated_at"):
            filters[COLUMNS[key]] = value
    tasks = [] if limit == 0 else svc.engine.tasks.list(
        context(), filters, marker.lower() if marker is not None else None,
        limit, COLUMNS[sort_key], sort_dir)
    query = [(k, v) for k, v in params.items(multi=True) if k != "marker"]
    body = {"tasks": [stub_view(t) for t in tasks],
            "first": "/v2/tasks" + ("?" + urllib.parse.urlencode(query)
                                    if query else ""),
            "schema": "/v2/schemas/tasks"}
    if tasks and len(tasks) == limit:
        body["next"] = "/v2/tasks?" + urllib.parse.urlencode(
            query + [("marker", tasks[-1]["id"])])
    return json_response(dumps(body))


def _limit(value, settings):
    if value is None:
        return settings.limit_param_default
    try:
        limit = int(value)
    except ValueError:
        raise errors.Invalid("limit param must be an integer")
    if limit < 0:
        raise errors.Invalid("limit param must be positive")
    return min(settings.api_limit_max, limit)


@bp.route("/v2/tasks/<task_id>", methods=["GET"])
def show(task_id):
    svc = _access("get_task")
    return json_response(dumps(task_view(svc.engine.tasks.get(
        context(), task_id))))


@bp.route("/v2/tasks/<task_id>", methods=["DELETE"])
def delete(task_id):
    _access()
    raise errors.MethodNotAllowed(NOT_HERE, Allow="GET")


@bp.route("/v2/images/<image_id>/tasks", methods=["GET"])
def image_tasks(image_id):
    svc = services()
    reject_body()
    try:
        svc.engine.get(context(), svc.images, image_id)
    except (errors.NotFound, errors.Forbidden):
        # Glance's bare 404 here: no message naming the image.
        raise errors.NotFound("The resource could not be found.")
    tasks = svc.engine.tasks.for_artifact(context(), image_id)
    return json_response(dumps({"tasks": [image_task_view(t)
                                          for t in tasks]}))


@bp.route("/v2/images/<image_id>/tasks",
          methods=["POST", "PUT", "DELETE", "PATCH"])
def image_tasks_other_methods(image_id):
    # Glance routes only GET here: anything else finds no route (404).
    raise errors.NotFound("The resource could not be found.")
