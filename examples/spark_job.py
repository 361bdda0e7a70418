"""Group the articles of a Parquet folder into stories on a Spark cluster; the executors read and write.

    spark-submit --master spark://head:7077 spark_job.py INPUT_FOLDER OUTPUT_FOLDER
"""

import sys

from wirecopy import ClusterConfig
from wirecopy.engines.spark import cluster_dataframe, spark_session

spark = spark_session()  # the session spark-submit configured: its --master and --conf settings
docs = spark.read.parquet(sys.argv[1])  # columns id, text; optional title, date, source
out = cluster_dataframe(docs, ClusterConfig(level="story"))
out.write.mode("overwrite").parquet(sys.argv[2])
spark.stop()
