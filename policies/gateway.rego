# Entry point of the govchaos gateway policy: data.govchaos.gateway.decision.
#
# Every other file in this package contributes to two partial sets:
#   request_denials    reasons that deny every candidate (unknown route, bad input, ...)
#   candidate_denials  [candidate id, reason] pairs (one rule per concern, one file per concern)
# This file only assembles them into the decision contract (ARCHITECTURE.md, governance/decision.py).
# A candidate is allowed exactly when no reason denies it, so a new rule can only narrow what is
# allowed, never widen it.
#
# Reasons are human-readable and start with the rule's name, e.g.
#   "data_class_ceiling: pii may not reach cloud hosting (gpt-4o-cloud-us)"
package govchaos.gateway

decision := {
	"allow": count(allowed) > 0,
	"allowed": allowed,
	"denied": denied,
	"reasons": reasons,
	"obligations": obligations,
}

# Ids of the well-formed candidates offered by the caller (request.rego: objects with a string
# id; any other entry denies the request). A set: a duplicated id is one candidate, and any
# reason against any of its copies denies it.
candidate_ids contains c.id if {
	some c in candidates
}

# A request-level reason denies every candidate.
all_denials contains [id, msg] if {
	some id in candidate_ids
	some msg in request_denials
}

all_denials contains pair if {
	some pair in candidate_denials
}

denied_ids contains pair[0] if {
	some pair in all_denials
}

allowed := sort([id | some id in candidate_ids; not denied_ids[id]])

denied := {id: sort([pair[1] | some pair in all_denials; pair[0] == id]) | some id in denied_ids}

# Why nothing is allowed: the request-level reasons plus every candidate's reasons, so a caller
# that reads only `reasons` still learns which rules fired. Empty when something is allowed.
default reasons := []

reasons := sort(request_denials | {pair[1] | some pair in candidate_denials}) if {
	count(allowed) == 0
}
