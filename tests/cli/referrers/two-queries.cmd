referrers --type T --site f t.hst
