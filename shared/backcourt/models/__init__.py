"""Phase 5A prediction systems and their training.

``picks`` (thresholds and pick rules), ``baseline`` (the moving-average formula), ``gbm``
(LightGBM learner), ``artifacts`` (model files in the bucket), ``walkforward`` (weekly cutoffs,
training only on earlier dates), ``predict`` (the ``player_prop_predictions`` processor) and
``quality`` (per-system MAE and hit rate from ``prediction_accuracy``).
"""
