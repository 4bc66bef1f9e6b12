"""shipper.parse"""
