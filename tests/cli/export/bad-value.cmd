export --to collapsed --value frees t.hst
