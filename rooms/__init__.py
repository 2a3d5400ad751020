"""The live meeting: signaling protocol, room state machine, hub and fan-out, media plane."""
