"""Operations: the installed fleet run hour by hour — demand with its daily and weekly shape and spikes, failures and
repairs, site outages, and the policy that shares the fleet between training and inference."""
