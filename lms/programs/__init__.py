"""Training programs: versions, topics, questions, sign-off, course-pack import."""
