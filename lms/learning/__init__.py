"""Self-paced courses: the player, quizzes and attempts."""
