summary --format xml t.hst
