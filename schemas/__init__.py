"""Shapes: the submission sheets (specs and pandera schemas) and the published SQL tables."""
