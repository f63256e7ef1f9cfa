"""Stage 2, sites: power available per site and month (:mod:`.power`), climate (:mod:`.climate`), the hourly energy
engine (:mod:`.energy`: PUE, on-site dispatch, solar, batteries, PPAs, water, carbon) and the network
(:mod:`.network`)."""
