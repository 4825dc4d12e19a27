referrers --type T --limit ten t.hst
