"""The course catalogue: courses, modules, lessons with versions, quizzes and images."""
