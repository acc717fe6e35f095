"""Help requests: raised from any page, answered by first line, escalated to second line and administrators."""
