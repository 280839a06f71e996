# The policy trusts its own catalog (data.govchaos.catalog.models), not the caller: a candidate
# whose id is not in the catalog is denied, and so is one whose claimed attributes disagree with
# the catalog entry. Every other rule reads the catalog's attributes, never the caller's.
package govchaos.gateway

# Attributes a caller must report exactly as the catalog has them.
checked_attributes := ["hosting", "region"]

candidate_denials contains [c.id, msg] if {
	some c in candidates
	not models[c.id]
	msg := sprintf("unknown_model: %s is not in the model catalog", [c.id])
}

candidate_denials contains [c.id, msg] if {
	some c in candidates
	m := models[c.id]
	is_object(m)
	some attr in checked_attributes
	claimed := object.get(c, attr, null)
	claimed != m[attr]
	msg := sprintf(
		"catalog_mismatch: attributes disagree with catalog for %s: %s claimed '%s', catalog has '%v'",
		[c.id, attr, shown(claimed), m[attr]],
	)
}

# The version is optional in the input; when given it must match what the catalog says is deployed.
candidate_denials contains [c.id, msg] if {
	some c in candidates
	m := models[c.id]
	is_object(m)
	claimed := object.get(c, "version", "")
	claimed != ""
	claimed != m.version
	msg := sprintf(
		"catalog_mismatch: attributes disagree with catalog for %s: version claimed '%s', catalog has '%v'",
		[c.id, shown(claimed), m.version],
	)
}

# A caller-supplied value as text in a reason: a string as it is, anything else by its type.
# (Engines print non-string values differently with %v; a reason must read the same in all.)
shown(x) := x if {
	is_string(x)
} else := sprintf("<%s>", [type_name(x)])
