"""Static HTML pages (unit atlas, activation atlas, explanation), all on one small page helper."""
