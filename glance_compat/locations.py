"""Glance's rules for image locations: PATCH of ``/locations``.

``LocationOps`` takes the location operations of one PATCH in order, as
Glance's ``_do_add_locations``, ``_do_replace_locations`` and
``_do_remove_locations`` do, with Glance's checks in Glance's order and
its words:

* add (``/locations/<n>`` or ``/locations/-``) and replace (``/locations``)
  need ``set_image_location``, remove needs ``delete_image_location``;
  then ``show_multiple_locations`` (403 "It's not allowed to <verb>
  locations if locations are invisible."), the image's status (409: add
  and replace on queued or active images, remove on active ones),
  ``validation_data`` (409s, below), the position (400), the number of
  locations against ``image_location_quota`` (413), the URL (400 "Invalid
  location": ``artifacts.locations.resolve`` refused it, or its scheme is
  one Glance never takes from a client: file, filesystem, swift+config),
  duplicates (400 "The location <url> already exists"), and the last
  location, which is never removed (403).
* The first location of a queued image makes it active, with its size
  from the store and checksum / os_hash_* from ``validation_data``
  (formats must be set first, as for an upload).
* ``validation_data`` may only confirm values an image already has; new
  values only for a queued image, ``os_hash_algo`` the configured
  ``hashing_algorithm``, hex digests of the right size.
* Multi-store: a location's ``metadata["store"]`` is the store that owns
  its URL, whatever the client sent (Glance derives it from the URL too).

Deliberate differences (docs/architecture.md): an administrator may name a
``file://`` file inside a filesystem store (Glance refuses every file
URL), tenants never name data in a store Glare writes to, a URL is never
the data of two images' locations when Glare would delete it, the new
location must hold the image's size, duplicates are the same URL whatever
the metadata, and nothing is changed (no data deleted) when any operation
of the PATCH is refused.

The result is one ``artifacts.locations.LocationEdit`` (``edit()``), which
``Engine.update`` writes with the rest of the PATCH.
"""

import hashlib

from artifacts import errors
from artifacts.locations import Added, BadLocation, Kept, LocationEdit
from artifacts.stores import scheme_of
from artifacts.types.images import require_formats
from glance_compat.serialize import image_locations_of

# Schemes Glance never accepts from a client (its RESTRICTED_URI_SCHEMAS).
RESTRICTED_SCHEMES = ("file", "filesystem", "swift+config")
INVALID_LOCATION = "Invalid location"
VALIDATION_KEYS = ("checksum", "os_hash_algo", "os_hash_value")


def forbidden(message):
    """A 403 whose message follows the generic sentence (Glance passes
    these positionally)."""
    return errors.Forbidden(message).as_detail()


def position(path_pos, count, allow_end):
    """Glance's ``_get_locations_op_pos``: the index a ``/locations/<n>``
    or ``/locations/-`` names, or None when it names none."""
    if path_pos is None:
        return None
    pos = count if allow_end else count - 1
    if path_pos.isdigit() and path_pos.isascii():
        pos = int(path_pos)
    elif path_pos != "-":
        return None
    if not (allow_end or 0 <= pos < count):
        return None
    return pos


def check_validation_data(image, locations, hashing_algorithm):
    """Glance's ``_validate_validation_data``: the values the locations'
    ``validation_data`` would set on ``image`` (empty when they only
    confirm what it has); 409 for anything else."""
    given = {}
    for loc in locations:
        for key, value in (loc.get("validation_data") or {}).items():
            if given.get(key, value) != value:
                raise errors.Conflict("Conflicting values for %s" % key)
            given[key] = value
    props = image["properties"]
    new = {}
    for key, value in given.items():
        current = props.get(key)
        if value == current:
            continue
        if current:
            raise errors.Conflict("%s is already set with a different value"
                                  % key)
        new[key] = value
    if not new:
        return {}
    if image["status"] != "queued":
        raise errors.Conflict("New value(s) for %s may only be provided "
                              "when image status is 'queued'"
                              % ", ".join(new))
    if "checksum" in new:
        raw = _hex(new["checksum"])
        if raw is None:
            raise errors.Conflict("checksum (%s) is not a valid hexadecimal "
                                  "value" % new["checksum"])
        if len(raw) != 16:
            raise errors.Conflict("checksum (%s) is not the correct size for "
                                  "md5 (should be 16 bytes)"
                                  % new["checksum"])
    algo = new.get("os_hash_algo")
    if algo != hashing_algorithm:
        raise errors.Conflict("os_hash_algo must be %s, not %s"
                              % (hashing_algorithm, algo))
    value = new.get("os_hash_value")
    raw = _hex(value)
    if raw is None:
        raise errors.Conflict("os_hash_value (%s) is not a valid hexadecimal "
                              "value" % value)
    want = hashlib.new(algo).digest_size
    if len(raw) != want:
        raise errors.Conflict("os_hash_value (%s) is not the correct size "
                              "for %s (should be %d bytes)"
                              % (value, algo, want))
    return new


def _hex(value):
    try:
        return bytes.fromhex(value)
    except (TypeError, ValueError):
        return None


class LocationOps:
    """The location operations of one PATCH; see the module docstring.

    ``locations``: the engine's ``Locations`` (None: no URL is
    acceptable, for checks that never get that far); ``enforce(rule)``:
    the caller's policy check (None: not checked here); ``trusted``: the
    caller is an administrator; ``settings``: the facade's ``Settings``.
    """

    def __init__(self, settings, locations=None, enforce=None,
                 trusted=False, hashing_algorithm="sha512"):
        self.settings = settings
        self.locations = locations
        self.enforce = enforce or (lambda rule: None)
        self.trusted = trusted
        self.hashing_algorithm = hashing_algorithm
        self._current = None
        self._values = {}
        self._resolved = {}

    # ---------------------------------------------------------- the list

    def _list(self, image):
        """The image's locations in Glance's order (display order), as
        entries ``{"id"|"resolved", "url", "metadata"}``."""
        if self._current is None:
            self._current = [
                {"id": loc["id"], "url": loc["url"],
                 "metadata": loc["metadata"]}
                for loc in image_locations_of(image, self.settings)]
        return self._current

    def edit(self):
        """The ``LocationEdit`` of every operation so far (None if none)."""
        if self._current is None:
            return None
        entries = [Kept(e["id"], e["metadata"]) if "id" in e
                   else Added(e["resolved"], e["metadata"])
                   for e in self._current]
        values = dict(self._values)
        digests = {}
        if values.get("checksum"):
            digests["md5"] = values["checksum"]
        if values.get("os_hash_value"):
            digests[values["os_hash_algo"]] = values["os_hash_value"]
        return LocationEdit("image", entries, values=values, digests=digests)

    # -------------------------------------------------------- operations

    def apply(self, image, op, value, path_pos):
        if op == "remove":
            self.enforce("delete_location")
            self._remove(image, path_pos)
        elif op == "add":
            self.enforce("set_location")
            self._add(image, value, path_pos)
        else:
            self.enforce("set_location")
            self._replace(image, value)

    def _visible(self, verb):
        if not self.settings.show_multiple_locations:
            raise errors.Forbidden("It's not allowed to %s locations if "
                                   "locations are invisible." % verb)

    @staticmethod
    def _status(image, verb, allowed):
        if image["status"] not in allowed:
            raise errors.Conflict("It's not allowed to %s locations if image "
                                  "status is %s." % (verb, image["status"]))

    def _add(self, image, value, path_pos):
        self._visible("add")
        self._status(image, "add", ("active", "queued"))
        new_values = check_validation_data(
            dict(image, properties=self._props(image)), [value],
            self.hashing_algorithm)
        entry = self._entry(value)
        current = self._list(image)
        pos = position(path_pos, len(current), allow_end=True)
        if pos is None:
            raise errors.Invalid("Invalid position for adding a location.")
        self._check_quota(len(current) + 1)
        self._check_url(image, entry)
        if any(e["url"] == entry["url"] for e in current):
            raise errors.Invalid("The location %s already exists"
                                 % entry["url"])
        current.insert(pos, entry)
        self._took_data(image, [entry], new_values)

    def _replace(self, image, value):
        self._visible("update")
        self._status(image, "replace", ("active", "queued"))
        new_values = check_validation_data(
            dict(image, properties=self._props(image)), value,
            self.hashing_algorithm)
        entries = [self._entry(v) for v in value]
        self._check_quota(len(entries))
        current = self._list(image)
        urls = sorted(e["url"] for e in entries)
        if current and urls != sorted(e["url"] for e in current):
            raise errors.Invalid("Original locations is not empty: %s"
                                 % _glance_repr(current))
        if current:
            # The same URLs: only their metadata (and order) change.
            by_url = {e["url"]: e for e in current}
            self._current = [dict(by_url[e["url"]], metadata=e["metadata"])
                             for e in entries]
            self._took_data(image, [], new_values)
            return
        for entry in entries:
            self._check_url(image, entry)
            if urls.count(entry["url"]) > 1:
                raise errors.Invalid("The location %s already exists"
                                     % entry["url"])
        self._current = entries
        self._took_data(image, entries, new_values)

    def _remove(self, image, path_pos):
        self._visible("remove")
        self._status(image, "remove", ("active",))
        current = self._list(image)
        if len(current) == 1:
            raise forbidden("Cannot remove last location in the image.")
        pos = position(path_pos, len(current), allow_end=False)
        if pos is None:
            raise errors.Invalid("Invalid position for removing a location.")
        del current[pos]

    # ------------------------------------------------------------ checks

    def _entry(self, value):
        """A new entry for a location value: its metadata, with the store
        that owns the URL (multi-store)."""
        url = value["url"]
        metadata = dict(value.get("metadata") or {})
        if self.settings.multi_store and self.locations is not None:
            owner = self.locations.stores.owner_of(url)
            if owner is not None:
                metadata["store"] = owner
        return {"url": url, "metadata": metadata}

    def _check_quota(self, attempted):
        maximum = self.settings.image_location_quota
        if 0 <= maximum < attempted:
            raise errors.RequestTooLarge(
                "The limit has been exceeded on the number of allowed image "
                "locations. Attempted: %d, Maximum: %d" % (attempted,
                                                           maximum))

    def _check_url(self, image, entry):
        """Resolve the entry's URL (once per request); 400 'Invalid
        location' for any URL that cannot be one."""
        url = entry["url"]
        if url not in self._resolved:
            if self.locations is None or (
                    scheme_of(url) in RESTRICTED_SCHEMES and not (
                        self.trusted and scheme_of(url) == "file")):
                raise errors.Invalid(INVALID_LOCATION)
            try:
                self._resolved[url] = self.locations.resolve(
                    url, trusted=self.trusted,
                    size=self._props(image).get("size"))
            except BadLocation:
                raise errors.Invalid(INVALID_LOCATION)
        entry["resolved"] = self._resolved[url]

    def _props(self, image):
        """The image's properties as the operations so far left them (the
        system fields they set are written by the engine, not here)."""
        return dict(image["properties"], **self._values)

    def _took_data(self, image, entries, new_values):
        """Glance's size rule (the first location the store can size gives
        an image without one its size) and status setter: a queued image
        with locations becomes active with the validation data's values,
        its formats set first."""
        if self._props(image).get("size") is None:
            for entry in entries:
                if entry["resolved"].size:
                    self._values["size"] = entry["resolved"].size
                    break
        if image["status"] != "queued":
            return
        self._values.update(new_values)
        require_formats(None, image)
        image["status"] = "active"


def _glance_repr(entries):
    """The list Glance prints in 'Original locations is not empty': its
    location dicts (id, url, metadata, status) as Python shows them."""
    return repr([{"id": e.get("id"), "url": e["url"],
                  "metadata": e["metadata"], "status": "active"}
                 for e in entries])
