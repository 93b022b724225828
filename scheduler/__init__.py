"""The periodic jobs (functions of `now`) and the one place that schedules them."""
