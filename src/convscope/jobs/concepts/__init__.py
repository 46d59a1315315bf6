"""The concepts job: collection, training, the codes pass, pictures, measures and the record."""
