"""The policy as code: 《内蒙古自治区促进铝产业高质量发展的若干意见》, program by program.

Pure functions over the typed values of `rules.model`; every number comes from the dated parameter files in
`rules/parameters/`. No pandas, no Dagster, no I/O beyond reading those parameter files once.
"""
