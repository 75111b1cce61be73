"""Run z2jh's hub configuration on a rendered release and build every profile's user pod.

Runs inside the hub venv (jupyterhub 5.5.0, kubespawner 7.0.0, oauthenticator 17.4.0 — what the z2jh 4.4.0
hub image pins), never inside pangeoctl's own venv. Usage::

    python hub_driver.py ROOT ENV_JSON OUT_JSON

ROOT holds the hub pod's mounts (ConfigMap ``hub`` and Secret ``hub`` where the Deployment mounts them),
ENV_JSON the container's resolved environment and argv. z2jh.py reads fixed paths under
/usr/local/etc/jupyterhub; they are redirected into ROOT in this process only. Writes OUT_JSON with the
hub's log, the authenticator's settings, the services and one pod manifest (or the error) per profile.
"""

from __future__ import annotations

import asyncio
import builtins
import glob
import json
import logging
import os
import sys
import traceback

from driver_log import Collect  # beside this script, which runs as a file (not in a package)

PREFIX = "/usr/local/etc/jupyterhub"


def redirect_paths(root: str) -> None:
    """Make z2jh's absolute paths under /usr/local/etc/jupyterhub land inside ``root``."""

    def remap(path):
        if isinstance(path, str) and path.startswith(PREFIX):
            return root + path
        return path

    real_open, real_exists, real_isdir, real_isfile, real_mtime, real_glob = (
        builtins.open,
        os.path.exists,
        os.path.isdir,
        os.path.isfile,
        os.path.getmtime,
        glob.glob,
    )
    builtins.open = lambda file, *a, **k: real_open(remap(file), *a, **k)
    os.path.exists = lambda p: real_exists(remap(p))
    os.path.isdir = lambda p: real_isdir(remap(p))
    os.path.isfile = lambda p: real_isfile(remap(p))
    os.path.getmtime = lambda p: real_mtime(remap(p))
    glob.glob = lambda p, *a, **k: real_glob(remap(p), *a, **k)


def main(root: str, env_file: str, out_file: str) -> None:
    with open(env_file) as f:
        given = json.load(f)
    os.environ.update(given["env"])
    # KubeSpawner builds an API client in __init__; point it at a cluster nobody contacts.
    kubeconfig = os.path.join(root, "kubeconfig")
    with open(kubeconfig, "w") as f:
        f.write(
            "apiVersion: v1\nkind: Config\ncurrent-context: x\nclusters: [{name: x, cluster: {server: 'https://127.0.0.1:9'}}]\n"
            "contexts: [{name: x, context: {cluster: x, user: x}}]\nusers: [{name: x, user: {token: t}}]\n"
        )
    os.environ["KUBECONFIG"] = kubeconfig
    os.makedirs(os.path.join(root, "srv/jupyterhub"), exist_ok=True)
    os.chdir(os.path.join(root, "srv/jupyterhub"))  # the image's WORKDIR, where the hub-db-dir PVC is mounted
    redirect_paths(root)

    collect = Collect()
    logging.getLogger().addHandler(collect)
    logging.getLogger().setLevel(logging.INFO)
    out: dict = {"log": collect.lines, "profiles": {}, "error": None}

    from jupyterhub.app import JupyterHub

    argv = [a.replace(PREFIX, root + PREFIX) if a.startswith(PREFIX) else a for a in given["args"][1:]]

    async def run() -> None:
        app = JupyterHub()
        app.log.addHandler(collect)
        await app.initialize(argv)
        auth = app.authenticator
        out["authenticator"] = {
            "class": type(auth).__module__ + "." + type(auth).__name__,
            "oauth_callback_url": getattr(auth, "oauth_callback_url", None),
            "client_id": getattr(auth, "client_id", None),
            "client_secret_set": bool(getattr(auth, "client_secret", None)),
            "allowed_organizations": sorted(getattr(auth, "allowed_organizations", None) or []),
            "allowed_users": sorted(getattr(auth, "allowed_users", None) or []),
            "user_password_set": bool(getattr(auth, "user_password", None)),
            "admin_password_set": bool(getattr(auth, "admin_password", None)),
            "admin_users": sorted(auth.admin_users),
            "allow_all": getattr(auth, "allow_all", None),
        }
        out["services"] = {name: {"url": s.url, "has_token": bool(s.api_token)} for name, s in app._service_map.items()}
        out["roles"] = {r["name"]: r.get("scopes", []) for r in app.load_roles}
        # Which file the hub's Jinja environment serves for each page our template_paths override.
        out["templates"] = {}
        for base in app.template_paths:
            if base.startswith(PREFIX):
                found = os.path.isdir(base)
                names = sorted(os.listdir(root + base)) if found else []
                out["templates"][base] = {"exists": found, "files": names}
                for name in names:
                    try:
                        out["templates"][base][name] = app.tornado_settings["jinja2_env_sync"].get_template(name).filename
                    except Exception as e:
                        out["templates"][base][name] = f"error: {e!r}"
        from jupyterhub import orm

        for i, profile in enumerate(app.config.KubeSpawner.get("profile_list") or [{"display_name": "default"}]):
            name = profile["display_name"]
            try:
                orm_user = orm.User(name=f"user{i}")
                app.db.add(orm_user)
                app.db.commit()
                user = app.users.add(orm_user)
                spawner = user.spawners[""]
                profiles = spawner._get_initialized_profile_list(spawner.profile_list) if spawner.profile_list else []
                slug = next((p["slug"] for p in profiles if p["display_name"] == name), None)
                spawner.user_options = {"profile": slug} if slug else {}
                await spawner.load_user_options()  # applies kubespawner_override as a spawn does
                pod = await spawner.get_pod_manifest()
                out["profiles"][name] = {"pod": spawner.api.api_client.sanitize_for_serialization(pod), "error": None}
            except Exception:
                entry = out["profiles"][name] = {"pod": None, "error": traceback.format_exc(limit=-3), "pod_env_unformatted": None}
                # The rest of the pod still matters to other checks (labels, placement, resources): build it
                # again with env values taken literally, and say so.
                try:
                    spawner._expand_env = lambda env: dict(env)
                    pod = await spawner.get_pod_manifest()
                    entry["pod_env_unformatted"] = spawner.api.api_client.sanitize_for_serialization(pod)
                except Exception:
                    pass

    try:
        asyncio.run(run())
    except BaseException:  # SystemExit from a fatal config error, or anything else: report it
        out["error"] = traceback.format_exc(limit=-5)
    with open(out_file, "w") as f:
        json.dump(out, f, indent=1, default=str)


if __name__ == "__main__":
    main(*sys.argv[1:4])
