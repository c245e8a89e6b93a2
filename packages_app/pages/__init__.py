"""View-models (presenters) of the web pages, one module per page; views call one function here and
render, templates only display. Built from ``packages_app.selectors``' reads; nothing is re-exported.

* ``listing``: the home page and an owner's page;
* ``package``: the package page (install box, recent versions, source link, downloads);
* ``versions``: the versions list and what a version is made of (platforms, referrers, size);
* ``version``: one version's page;
* ``charts``: the downloads chart's SVG geometry.
"""
