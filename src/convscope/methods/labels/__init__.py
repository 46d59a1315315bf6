"""Words for units and concepts: groups of the photos' classes named by WordNet, scored by how
well they separate the photos by a unit's activation (AUC, with a permutation p-value corrected
for every label tried), "no label" where none holds, and search over the results."""
