"""The HTML pages, one module per page family: thin function views, request → form → service or
selector → template. Every view names the permission it needs (`base.requires`)."""
