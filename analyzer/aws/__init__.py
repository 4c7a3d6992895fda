"""AWS access for pgqa: one boto3 session per run, clients with botocore's retry configuration,
and the Lambda/RDS Proxy readers behind `pgqa budget`. Nothing here handles keys: the standard
credential chain (--profile, --region, environment, instance role) does."""
