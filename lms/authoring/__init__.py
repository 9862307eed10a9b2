"""Writing courses in the browser: courses, modules, lessons, versions, images."""
