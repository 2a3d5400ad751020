"""The province's conference network: administrative units and conference points."""
