"""The desktop window: widgets, Qt models and views. Background work goes through selfie_desk.workers."""
