"""DeePAQ scoring: embedding distance to a reference, mapped to MOS (cubic / small MLP)."""
